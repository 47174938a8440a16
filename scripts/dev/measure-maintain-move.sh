#!/usr/bin/env bash
# How long maintain takes to move 100,000 bids out of bids_default into a new month: OLD (a build of
# an earlier commit, e.g. main before the batched move) against BIN (default .build/debug/bidengine),
# interleaved, three rounds, on an embedded cluster held by a serve in a scratch state directory.
#
#   OLD=/path/to/old/bidengine bash scripts/dev/measure-maintain-move.sh
set -euo pipefail
BIN=${BIN:-.build/debug/bidengine}
OLD=${OLD:?the main branch build of bidengine}
S=/var/tmp/bidengine-move-$$
"$BIN" serve --port 0 --state-dir "$S" >/dev/null 2>&1 & SERVE=$!
trap 'kill $SERVE; wait $SERVE; rm -rf "$S"' EXIT
until [ -S "$S/postgres/run/.s.PGSQL.5432" ] && psql "host=$S/postgres/run user=postgres dbname=bidengine" -qAtc "SELECT 1 FROM bids LIMIT 0" >/dev/null 2>&1; do sleep 0.5; done
sleep 2
DB="host=$S/postgres/run user=postgres dbname=bidengine"
fill() { psql "$DB" -qc "INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at) SELECT g % 1000, 1.00, 100, 1.20, timestamptz '$1' + g * interval '10 seconds' FROM generate_series(1, 100000) g"; }
for round in 1 2 3; do
  year=$((2040 + round * 2))
  fill "$year-03-01T00:00:00Z"
  t0=$(date +%s.%N); LOG_LEVEL=warning "$OLD" maintain --state-dir "$S" --no-migrate >/dev/null; t1=$(date +%s.%N)
  fill "$((year + 1))-03-01T00:00:00Z"
  t2=$(date +%s.%N); LOG_LEVEL=warning "$BIN" maintain --state-dir "$S" --no-migrate >/dev/null; t3=$(date +%s.%N)
  printf 'round %d: old maintain (one statement) %.2f s, new maintain (batches of 5,000) %.2f s\n' "$round" "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)"
done
