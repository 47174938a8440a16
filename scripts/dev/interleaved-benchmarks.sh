#!/usr/bin/env bash
# Old against new on a shared machine: alternating Benchmarks runs, one per server binary.
#
#   scripts/dev/interleaved-benchmarks.sh OLD_BIN NEW_BIN [PAIRS] [-- Benchmarks options]
#
# Runs `Benchmarks --server-binary OLD_BIN`, then the same with NEW_BIN, PAIRS times (default 2),
# each with the HTTP sections only unless options say otherwise (default options:
# --skip micro,db,audit,slowloris --rounds 1 --duration 5 --rate-duration 4 --rates 0.1,0.5).
# Every run measures the fixed-response ceiling itself, so each ratio to the ceiling is from the
# same minutes as its bid figure. Reports go to $OUT (default /tmp/interleaved-<pid>) as
# old-N.json / new-N.json with the text output beside them; at the end a table of the median
# figures per binary: durable bids/s, ratio to the ceiling and CPU per durable bid at each
# concurrency, open-loop p99. Benchmarks must be built (`swift build -c release --product Benchmarks`).
# Environment for the server (e.g. MAX_WRITES_IN_FLIGHT=1) is passed through to both binaries.
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
OLD=$1 NEW=$2
shift 2
PAIRS=2
if [[ $# -gt 0 && $1 != -- ]]; then PAIRS=$1; shift; fi
[[ ${1:-} == -- ]] && shift
OPTIONS=("$@")
# shellcheck disable=SC2054  # --skip and --rates take comma-separated lists
((${#OPTIONS[@]})) || OPTIONS=(--skip micro,db,audit,slowloris --rounds 1 --duration 5 --rate-duration 4 --rates 0.1,0.5)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${BENCHMARKS_BIN:-$ROOT/.build/release/Benchmarks}
OUT=${OUT:-/tmp/interleaved-$$}
mkdir -p "$OUT"
for pair in $(seq 1 "$PAIRS"); do
    for side in old new; do
        binary=$OLD
        [[ $side == new ]] && binary=$NEW
        echo "== $side run $pair: $binary" >&2
        "$BENCH" --server-binary "$binary" "${OPTIONS[@]}" --json "$OUT/$side-$pair.json" >"$OUT/$side-$pair.txt"
    done
done
python3 - "$OUT" "$PAIRS" <<'PY'
import json, statistics, sys
out, pairs = sys.argv[1], int(sys.argv[2])
def figures(side):
    runs = [json.load(open(f"{out}/{side}-{n}.json")) for n in range(1, pairs + 1)]
    names = sorted({f["name"] for run in runs for f in run["figures"]})
    return {name: statistics.median([f["value"] for run in runs for f in run["figures"] if f["name"] == name]) for name in names}
old, new = figures("old"), figures("new")
wanted = [n for n in new if n.startswith(("http.bid.closed.c", "http.bid.fraction_of_ceiling.c", "http.bid.cpu_us_per_bid.c", "http.ceiling.closed.ok_per_s"))
          or (n.startswith("http.bid.open.") and n.endswith((".p50_ms", ".p99_ms")))]
print(f"{'figure (median of ' + str(pairs) + ' runs each)':<44} {'old':>10} {'new':>10} {'new/old':>8}")
for name in wanted:
    o, n = old.get(name), new.get(name)
    ratio = f"{n / o:.2f}" if o and n else ""
    show = lambda v: "" if v is None else (f"{v:.3f}" if v < 10 else f"{v:,.0f}")
    print(f"{name:<44} {show(o):>10} {show(n):>10} {ratio:>8}")
PY
echo "reports: $OUT" >&2
