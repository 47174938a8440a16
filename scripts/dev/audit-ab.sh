#!/usr/bin/env bash
# Interleaved A/B of `bidengine audit` builds over one seeded window (docs/audit.md, "Speed").
#
#   scripts/dev/audit-ab.sh [--rows N] [--rounds R] [--threshold T] [--prices classes|spread] BINARY [BINARY ...]
#
# initdb's a scratch PostgreSQL cluster under /tmp (unix socket only, port $AUDIT_AB_PG_PORT or
# 54331; as root the server runs as `postgres`), applies Migrations/*.sql, seeds N bids (default
# 10,000,000) in the day before 2025-06-01 with the eight price classes of `Benchmarks`' audit
# section (one in eight deviates by 50 %), then R rounds (default 2): per binary, in the order
# given, empty the audit tables and CHECKPOINT (untimed), time `count(*)` of the window, then run
# `BINARY audit --no-migrate --as-of 2025-06-01T00:00:00Z --output FILE` (text report, as
# `Benchmarks` does). Prints wall seconds, the ratio to the `count(*)` just before, CPU seconds of
# all PostgreSQL processes (from /proc: the postmaster's live and reaped children) and of the
# binary, its peak RSS (/usr/bin/time), and the bytes the run added to the audit tables (every
# `audit_*` table with its indexes and TOAST, `pg_total_relation_size`, after minus before; the
# tables are emptied with TRUNCATE first) in all and per flagged bid. The cluster is stopped and
# deleted on exit.
# --threshold is passed to every audit (0.60 flags nothing: the judging alone). --prices spread
# seeds prices with 4 decimals over 0.0001 … 100 and a ROAS of 85 … 125 instead of the eight
# classes: nearly every bid is its own (current_cpc, adjusted_cpc) pair, the worst case for
# deciding the rule once per pair.
#
# Environment: AUDIT_AB_PG_PORT (54331), AUDIT_AB_PG_BIN (/usr/lib/postgresql/15/bin).
set -euo pipefail

ROWS=10000000
ROUNDS=2
PRICES=classes
AUDIT_ARGS=()
BINARIES=()
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
while (($#)); do
    case "$1" in
        --rows) ROWS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --threshold) AUDIT_ARGS=(--threshold "$2"); shift 2 ;;
        --prices) PRICES=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "audit-ab: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) BINARIES+=("$(realpath "$1")"); shift ;;
    esac
done
((${#BINARIES[@]})) || { usage >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "audit-ab: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_BIN=${AUDIT_AB_PG_BIN:-/usr/lib/postgresql/15/bin}
PORT=${AUDIT_AB_PG_PORT:-54331}
# shellcheck source=../lib/scratch-pg.sh
source "$ROOT/scripts/lib/scratch-pg.sh"
scratch_pg_start audit-ab "$PORT" "max_connections = 200" "shared_buffers = 256MB"
DIR=$SCRATCH_DIR
URL=$SCRATCH_URL

echo "seeding $ROWS bids, prices: $PRICES (load average $(cut -d' ' -f1-3 /proc/loadavg))…"
AT="timestamptz '2025-05-31 00:00:00+00' + ((g - 1)::bigint * 86400000000 / $ROWS) * interval '1 microsecond'"
case "$PRICES" in
    classes) SEED="
        SELECT 1 + (g - 1) % 50000, p.cpc, p.roas, round(p.cpc * p.roas / 100, 2), $AT
        FROM generate_series(1, $ROWS) g
        JOIN (VALUES (0, 1.50::numeric, 100::numeric), (1, 0.75, 105), (2, 2.10, 95), (3, 12.345, 110), (4, 3, 90),
                     (5, 0.05, 150), (6, 9.99, 98), (7, 4.20, 102)) p (k, cpc, roas) ON p.k = (g - 1) % 8" ;;
    spread) SEED="
        SELECT 1 + (g - 1) % 50000, cpc, roas, round(cpc * roas / 100, 2), $AT
        FROM (SELECT g, ((g::bigint * 7919) % 1000000 + 1) / 10000.0 AS cpc, 85 + (g::bigint * 104729) % 41 AS roas
              FROM generate_series(1, $ROWS) g) s" ;;
    *) echo "audit-ab: --prices is classes or spread" >&2; exit 2 ;;
esac
"${PSQL[@]}" -c "INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at) $SEED" \
    -c "VACUUM ANALYZE bids"
"${PSQL[@]}" -At -c "SELECT count(*) || ' bids, ' || count(DISTINCT (current_cpc, adjusted_cpc)) || ' distinct price pairs' FROM bids"

pg_cpu() { scratch_pg_cpu; }
# Every table of the audit (audit_runs, audit_flags, audit_products, …, whatever the schema has),
# and their total size with indexes and TOAST.
AUDIT_TABLES="relname LIKE 'audit\\_%' AND relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace"
AUDIT_BYTES="SELECT sum(pg_total_relation_size(oid)) FROM pg_class WHERE $AUDIT_TABLES"
now() { date +%s%N; }

printf '%-6s %-24s %9s %9s %7s %9s %9s %8s %11s %8s\n' round binary "wall s" "count s" ratio "pg cpu s" "cpu s" "RSS MB" \
    "audit bytes" "B/flag"
for round in $(seq 1 "$ROUNDS"); do
    for binary in "${BINARIES[@]}"; do
        # TRUNCATE, not DELETE: the tables start at their empty size, so the bytes the audit adds
        # are exactly their size afterwards minus the empty size.
        "${PSQL[@]}" -c "DO \$\$ BEGIN EXECUTE (SELECT 'TRUNCATE ' || string_agg(oid::regclass::text, ', ')
                                                 FROM pg_class WHERE $AUDIT_TABLES); END \$\$" -c "CHECKPOINT"
        empty_bytes=$("${PSQL[@]}" -At -c "$AUDIT_BYTES")
        start=$(now)
        "${PSQL[@]}" -c "SELECT count(*) FROM bids
                         WHERE calculated_at >= '2025-05-25 00:00:00+00' AND calculated_at < '2025-06-01 00:00:00+00'" >/dev/null
        count_ns=$(($(now) - start))
        sleep 1   # a backend's CPU is counted once the postmaster has reaped it
        cpu_before=$(pg_cpu)
        start=$(now)
        DATABASE_URL=$URL LOG_LEVEL=warning /usr/bin/time -f "%U %S %M" -o "$DIR/time" \
            "$binary" audit --no-migrate "${AUDIT_ARGS[@]}" --as-of 2025-06-01T00:00:00Z \
            --output "$DIR/report.txt" >"$DIR/audit.log" 2>&1 || { echo "audit failed:"; tail -5 "$DIR/audit.log"; }
        audit_ns=$(($(now) - start))
        sleep 1
        cpu_after=$(pg_cpu)
        read -r user system rss < <(tail -1 "$DIR/time")
        flagged=$("${PSQL[@]}" -At -c "SELECT coalesce(sum(bids_flagged), 0) FROM audit_runs")
        bytes=$(($("${PSQL[@]}" -At -c "$AUDIT_BYTES") - empty_bytes))
        awk -v r="$round" -v b="$(basename "$binary")" -v a="$audit_ns" -v c="$count_ns" -v p0="$cpu_before" -v p1="$cpu_after" \
            -v u="$user" -v s="$system" -v m="$rss" -v f="$flagged" -v y="$bytes" 'BEGIN {
                per = "-"; if (f > 0) per = sprintf("%.1f", y / f)
                printf "%-6s %-24s %9.2f %9.2f %6.1fx %9.2f %9.2f %8.1f %11d %8s\n", r, b, a / 1e9, c / 1e9, a / c, p1 - p0, u + s,
                    m / 1024, y, per }'
    done
done
grep -h "Bids reviewed\|Bids flagged" "$DIR/report.txt" || true
