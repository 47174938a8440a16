#!/usr/bin/env bash
# What one bid row costs PostgreSQL, by statement shape and batch size
# (docs/decisions/0002-batch-statement-shape.md).
#
#   scripts/dev/statement-costs.sh [SECONDS]
#
# Starts a scratch cluster under /tmp (unix socket only, default durability: fsync and
# synchronous_commit on; port $COSTS_PG_PORT or 54331; as root the server runs as `postgres`),
# applies Migrations/*.sql, then for each batch size (1, 8, 32, 128) and each statement shape runs
# pgbench for SECONDS (default 5) with $COSTS_CLIENTS (4) clients and prints rows/s and
# PostgreSQL CPU µs per row (user + system time of the postmaster and its children, from
# /proc, over the run). The bids table is truncated before each run. Shapes:
#   cte-unnest/parse    CTE + unnest WITH ORDINALITY (BidEngine's batch statement), parsed and
#                       planned for every execution (pgbench -M extended)
#   cte-unnest/prepared the same statement prepared once per connection (-M prepared)
#   cte-unnest-seq-once/prepared  the same with the sequence looked up once per statement (an
#                       InitPlan) instead of once per row: BidEngine now
#   plain-unnest/prepared INSERT … SELECT FROM unnest … RETURNING id (no ordinality, no CTE)
#   values/prepared     multi-row INSERT … VALUES (…), (…) RETURNING id
# Arrays and values are literals in the statement (pgbench has no array variables); BidEngine
# sends them as text parameters, which PostgreSQL parses the same way.
set -euo pipefail

SECONDS_PER_RUN=${1:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_BIN=${COSTS_PG_BIN:-/usr/lib/postgresql/15/bin}
PORT=${COSTS_PG_PORT:-54331}
CLIENTS=${COSTS_CLIENTS:-4}
# shellcheck source=../lib/scratch-pg.sh
source "$ROOT/scripts/lib/scratch-pg.sh"
scratch_pg_start statement-costs "$PORT" "max_wal_size = 4GB" "autovacuum = off"
DATADIR=$SCRATCH_DIR
pg_cpu() { scratch_pg_cpu; }

array() {  # array N FIRST STEP: {first,first+step,…} with 2 decimals
    awk -v n="$1" -v a="$2" -v s="$3" 'BEGIN { printf "{"; for (i = 0; i < n; i++) printf "%s%.2f", (i ? "," : ""), a + i * s; printf "}" }'
}

statement() {  # statement SHAPE N
    local n=$2 p c r a
    p=$(array "$n" 1 1); c=$(array "$n" 1.5 0.01); r=$(array "$n" 150 0); a=$(array "$n" 2.25 0.01)
    case $1 in
        cte-unnest-seq-once/*) cat <<EOF
WITH input AS MATERIALIZED (SELECT nextval((SELECT pg_get_serial_sequence('bids', 'id')::regclass)) AS id, t.* FROM unnest('$p'::numeric[], '$c'::numeric[], '$r'::numeric[], '$a'::numeric[]) WITH ORDINALITY AS t(product_id, current_cpc, target_roas, adjusted_cpc, ordinal)), inserted AS (INSERT INTO bids (id, product_id, current_cpc, target_roas, adjusted_cpc) SELECT id, product_id, current_cpc, target_roas, adjusted_cpc FROM input) SELECT id, true FROM input ORDER BY ordinal;
EOF
        ;;
        cte-unnest/*) cat <<EOF
WITH input AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence('bids', 'id')) AS id, t.* FROM unnest('$p'::numeric[], '$c'::numeric[], '$r'::numeric[], '$a'::numeric[]) WITH ORDINALITY AS t(product_id, current_cpc, target_roas, adjusted_cpc, ordinal)), inserted AS (INSERT INTO bids (id, product_id, current_cpc, target_roas, adjusted_cpc) SELECT id, product_id, current_cpc, target_roas, adjusted_cpc FROM input) SELECT id, true FROM input ORDER BY ordinal;
EOF
        ;;
        plain-unnest/*) cat <<EOF
INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc) SELECT * FROM unnest('$p'::numeric[], '$c'::numeric[], '$r'::numeric[], '$a'::numeric[]) RETURNING id;
EOF
        ;;
        values/*)
            printf 'INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc) VALUES '
            awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "%s(%.2f, %.2f, 150.00, %.2f)", (i ? ", " : ""), 1 + i, 1.5 + i * 0.01, 2.25 + i * 0.01 }'
            printf ' RETURNING id;\n'
        ;;
    esac
}

echo "PostgreSQL: $("${PSQL[@]}" -At -c 'SHOW server_version'), fsync=$("${PSQL[@]}" -At -c 'SHOW fsync'), synchronous_commit=$("${PSQL[@]}" -At -c 'SHOW synchronous_commit')"
echo "pgbench: $CLIENTS clients, $SECONDS_PER_RUN s per run; cpus $(nproc); load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-24s %6s %12s %14s %12s\n' shape batch "rows/s" "pg CPU µs/row" "mean ms/stmt"
for n in 1 8 32 128; do
    for shape in cte-unnest/parse cte-unnest/prepared cte-unnest-seq-once/prepared plain-unnest/prepared values/prepared; do
        mode=prepared
        [[ $shape == */parse ]] && mode=extended
        statement "$shape" "$n" >"$DATADIR/script.sql"
        "${PSQL[@]}" -c 'TRUNCATE bids' >/dev/null
        before=$(pg_cpu)
        out=$(as_pg "$PG_BIN/pgbench" -n -h "$DATADIR" -p "$PORT" -U postgres -M "$mode" -c "$CLIENTS" -j 1 \
            -T "$SECONDS_PER_RUN" -f "$DATADIR/script.sql" postgres 2>&1)
        sleep 0.2  # let the backends exit, so their time counts in the postmaster's children
        after=$(pg_cpu)
        tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
        txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
        latency=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
        awk -v shape="$shape" -v n="$n" -v tps="$tps" -v txns="$txns" -v cpu="$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')" -v lat="$latency" \
            'BEGIN { printf "%-24s %6d %12.0f %14.1f %12.2f\n", shape, n, tps * n, cpu / (txns * n) * 1e6, lat }'
    done
done
