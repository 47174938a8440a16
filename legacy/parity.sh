#!/usr/bin/env bash
# Legacy parity check: BidEngine's `price` command against the legacy PHP helper.
#
#   legacy/parity.sh BIDENGINE_BINARY [compare.py options, e.g. --write-differences]
#
# Generates the inputs into legacy/work/ (gitignored), runs the PHP harness and
# `BIDENGINE_BINARY price` on them, then legacy/compare.py; exits with
# compare.py's status (0 = every mismatch is explained in legacy/DIFFERENCES.md).
# Works from any directory.
set -euo pipefail

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage ;; esac

bin=$1; shift
# Resolve the binary before changing directory.
if [[ "$bin" == /* ]]; then
    :
elif [[ "$bin" == */* ]]; then
    bin="$PWD/$bin"
else
    bin="$(command -v "$bin" || true)"
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "parity: BidEngine binary not found or not executable: ${bin:-$1}" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v php >/dev/null || { echo "parity: php (8.x CLI) is required" >&2; exit 2; }
command -v python3 >/dev/null || { echo "parity: python3 is required" >&2; exit 2; }

work=legacy/work
mkdir -p "$work"

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2fs", b - a }'; }

t=$(now)
python3 legacy/gen_inputs.py > "$work/inputs.jsonl"
echo "parity: generated $(wc -l < "$work/inputs.jsonl") input lines in $(took "$t")"

t=$(now)
php legacy/harness.php < "$work/inputs.jsonl" > "$work/php.jsonl"
echo "parity: PHP $(php -r 'echo PHP_VERSION;') answered in $(took "$t")"

t=$(now)
bid_status=0
"$bin" price < "$work/inputs.jsonl" > "$work/bidengine.jsonl" || bid_status=$?
echo "parity: BidEngine answered in $(took "$t") (exit status $bid_status)"

status=0
python3 legacy/compare.py "$work/php.jsonl" "$work/bidengine.jsonl" "$work/inputs.jsonl" \
    --differences legacy/DIFFERENCES.md "$@" || status=$?
if [ "$status" -eq 0 ] && [ "$bid_status" -ne 0 ]; then
    echo "parity: '$bin price' exited with status $bid_status" >&2
    status=1
fi
exit "$status"
