#!/usr/bin/env bash
# Builds and runs the libFuzzer targets in Tests/Fuzz.
#
#   scripts/ci/fuzz.sh [--seconds N] [--smoke] [target...]
#
# Targets: bid-request, fixed-decimal, http-request, products-page (default: all). Each runs for N
# seconds (default 60; --smoke: 10, starting from the committed seeds only, for `make test`).
# Fails, naming the target and the saved input, on any crash, trap, failed property, timeout,
# leak, out-of-memory or sanitizer report.
#
# How it builds: the package's library targets are compiled by SwiftPM into .build-fuzz with
# `-sanitize=fuzzer,address` (coverage instrumentation + ASan; debug, so `-enable-testing` lets
# the harnesses `@testable import` the internals they drive). Each fuzzer is then linked with
# swiftc from its entry file (Tests/Fuzz/Targets, an `@_cdecl("LLVMFuzzerTestOneInput")`
# function), the shared helpers (Tests/Fuzz/Support) and those objects. The fuzzers are not a
# SwiftPM target because libFuzzer supplies `main`, which SwiftPM's executable products insist on
# providing themselves. Both steps are incremental.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
SCRATCH=$ROOT/.build-fuzz
ALL_TARGETS=(bid-request fixed-decimal http-request products-page)

seconds=60
smoke=0
targets=()
while (($#)); do
    case $1 in
    --seconds)
        seconds=${2:?--seconds needs a value}
        shift 2
        ;;
    --seconds=*)
        seconds=${1#--seconds=}
        shift
        ;;
    --smoke)
        smoke=1
        seconds=10
        shift
        ;;
    -h | --help)
        sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "fuzz.sh: unknown option $1" >&2
        exit 2
        ;;
    *)
        targets+=("$1")
        shift
        ;;
    esac
done
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")

# Entry file and the modules (SwiftPM build directories) each fuzzer links.
source_of() {
    case $1 in
    bid-request) echo BidRequestFuzzer ;;
    fixed-decimal) echo FixedDecimalFuzzer ;;
    http-request) echo HTTPRequestFuzzer ;;
    products-page) echo ProductsPageFuzzer ;;
    *)
        echo "fuzz.sh: unknown target '$1' (known: ${ALL_TARGETS[*]})" >&2
        return 1
        ;;
    esac
}
needs_service() { [[ $1 == http-request || $1 == products-page ]]; }
for target in "${targets[@]}"; do source_of "$target" >/dev/null; done

log() { printf 'fuzz.sh: %s\n' "$*" >&2; }

# MARK: Build

log "building instrumented modules into .build-fuzz"
# BidService depends on every library target (TextFormats, JSONRoutes, Observability, ServiceSettings,
# Scheduler, Audit, CompetitorPrices, and through them BidCore, HTTPServer, Postgres), so this one build instruments them all.
swift build --scratch-path "$SCRATCH" --target BidService -Xswiftc -sanitize=fuzzer,address
# The in-process server the http-request fuzzer drives lives in the HTTP test support.
swift build --scratch-path "$SCRATCH" --target HTTPTestSupport -Xswiftc -sanitize=fuzzer,address
BIN=$(swift build --scratch-path "$SCRATCH" --show-bin-path)

# Every object of the libraries built above; executables and tests are never built here.
objects_for() {
    local dirs
    if needs_service "$1"; then
        dirs=$(find "$BIN" -maxdepth 1 -name '*.build' ! -name '*Tests.build' ! -name '*-tool.build' \
            ! -name 'bidengine.build' ! -name 'Benchmarks.build' ! -name '*TestSupport.build')
        [[ $1 == http-request ]] && dirs+=$'\n'$BIN/HTTPTestSupport.build
    else
        dirs=$BIN/BidCore.build
    fi
    # Swift targets: only the built objects their output-file-map.json names, so that objects left over
    # from a file that has since moved to another target (same scratch path) are never linked.
    local dir
    for dir in $dirs; do
        if [[ -f $dir/output-file-map.json ]]; then
            python3 -c 'import json, os, sys
for entry in json.load(open(sys.argv[1])).values():
    if os.path.exists(entry.get("object", "")): print(entry["object"])' "$dir/output-file-map.json"
            find "$dir" -maxdepth 1 -name '*.swiftmodule.o'
        else
            find "$dir" -name '*.o'
        fi
    done | sort
}

link_fuzzer() {
    local target=$1 name output
    name=$(source_of "$target")
    output=$SCRATCH/fuzzers/$target
    mkdir -p "$SCRATCH/fuzzers"
    local inputs=("$ROOT/Tests/Fuzz/Targets/$name.swift" "$ROOT"/Tests/Fuzz/Support/*.swift)
    local objects
    mapfile -t objects < <(objects_for "$target")
    # Relink only when an input is newer than the fuzzer.
    if [[ -x $output ]] && [[ -z $(find "${inputs[@]}" "${objects[@]}" -newer "$output" -print -quit) ]]; then
        return
    fi
    log "linking $target"
    local cflags=()
    for flag in $(pkg-config --cflags libevent_pthreads libpq); do cflags+=(-Xcc "$flag"); done
    # The C modules the Swift modules import: ours, and dependencies' C targets (_AtomicsShims).
    local maps=()
    while IFS= read -r map; do maps+=(-Xcc "-fmodule-map-file=$map"); done < <(
        find "$ROOT/Sources/CLibevent" "$ROOT/Sources/CLibpq" -maxdepth 1 -name module.modulemap
        find "$SCRATCH/checkouts" -path '*/Sources/*/include/module.modulemap'
    )
    # shellcheck disable=SC2046
    swiftc -use-ld=lld -sanitize=fuzzer,address -parse-as-library -swift-version 6 -enable-upcoming-feature ExistentialAny \
        -Onone -g -module-name "$name" -I "$BIN/Modules" "${cflags[@]}" "${maps[@]}" \
        "${inputs[@]}" "${objects[@]}" $(pkg-config --libs libevent_pthreads libpq) -o "$output"
}

for target in "${targets[@]}"; do link_fuzzer "$target"; done

# MARK: Run

failed=()
summary=()
for target in "${targets[@]}"; do
    seeds=$ROOT/Tests/Fuzz/$target/corpus
    artifacts=$SCRATCH/artifacts/$target/
    if ((smoke)); then
        grown=$(mktemp -d "$SCRATCH/smoke-corpus.XXXXXX")
    else
        grown=$SCRATCH/corpus/$target
    fi
    mkdir -p "$grown" "$artifacts"
    output=$SCRATCH/logs/$target.log
    mkdir -p "$SCRATCH/logs"
    before=$(find "$artifacts" -type f | wc -l)
    log "running $target for ${seconds}s (seeds: Tests/Fuzz/$target/corpus, new inputs: ${grown#"$ROOT"/})"
    status=0
    started=$SECONDS
    # Per input: 10 s before libFuzzer calls it a hang; 2 GB before it calls it out of memory.
    # Leaks are reported (ASan's LeakSanitizer) after inputs that allocate more than they free.
    # SWIFT_BACKTRACE: Swift's own crash backtracer reads memory ASan flags as a second error;
    # libFuzzer's handler already prints the stack.
    SWIFT_BACKTRACE=enable=no "$SCRATCH/fuzzers/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -detect_leaks=1 -artifact_prefix="$artifacts" "$grown" "$seeds" >"$output" 2>&1 ||
        status=$?
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$output" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$output" | tail -1)
    coverage=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$output" | tail -1 || true)
    elapsed=$((SECONDS - started))
    seed_files=$(find "$seeds" -type f | wc -l)
    grown_files=$(find "$grown" -type f | wc -l)
    line="$target: ${executions:-?} executions in ${elapsed}s (${rate:-?}/s); ${coverage:-no coverage line}; seed files $seed_files, corpus dir files $grown_files"
    summary+=("$line")
    ((smoke)) && rm -rf "$grown"
    after=$(find "$artifacts" -type f | wc -l)
    if ((status != 0)) || ((after > before)) || grep -qE '^==[0-9]+==ERROR|^SUMMARY: (Address|Leak)Sanitizer' "$output"; then
        # shellcheck disable=SC2012  # the newest artifact; libFuzzer names them crash-<hex digest>
        crash=$(ls -t "$artifacts" 2>/dev/null | head -1)
        log "FAILED: $target (exit $status)${crash:+, input saved as .build-fuzz/artifacts/$target/$crash}"
        grep -E 'ERROR|Fatal error|fuzz property|SUMMARY|deadly signal|Test unit written' "$output" | head -20 >&2 || true
        log "full log: ${output#"$ROOT"/}"
        [[ -n $crash ]] && log "reproduce: .build-fuzz/fuzzers/$target .build-fuzz/artifacts/$target/$crash"
        failed+=("$target")
    fi
done

log "summary"
for line in "${summary[@]}"; do printf '  %s\n' "$line" >&2; done
if ((${#failed[@]})); then
    log "FAILED targets: ${failed[*]}"
    exit 1
fi
log "all targets passed"
