#!/usr/bin/env bash
# What a per-hour summary of the bids' price pairs, kept when bids are written, would cost the
# write path and save the audit (docs/decisions/0032-no-pair-summary-at-write-time.md).
#
#   scripts/dev/pair-summary-cost.sh write [--seconds S] [--rounds R] [--clients C] [--sizes "512 15 1"] [--mixes "hot spread"] [--forms "..."]
#   scripts/dev/pair-summary-cost.sh audit [--rows N] [--rounds R] [--shards K] BINARY
#
# Both initdb a scratch PostgreSQL cluster under /tmp (unix socket only, default durability,
# port $PAIR_COST_PG_PORT or 54332; as root the server runs as `postgres`), apply
# Migrations/*.sql and add the summary `bid_pair_counts` (hour of calculated_at in UTC,
# current_cpc, adjusted_cpc, shard) → bids, with its primary key on the first four.
#
# write: rounds of pgbench (-M prepared, C clients (4), -j 2, S seconds (12) per run) running
# BidEngine's batch statement (BidInsert.plainSQL, its four arrays sent as text parameters as
# the server sends them) with each batch size (bids per statement) and each form of keeping the
# summary, interleaved in the order given per round; `bids` and the summary are emptied before
# each run (untimed). Forms:
#   none          the statement as the server sends it today
#   trigger       a statement-level AFTER INSERT trigger on bids with a transition table,
#                 one grouped INSERT … ON CONFLICT DO UPDATE SET bids = bids + excluded.bids
#                 (sees COPY and every other writer that inserts through the parent table)
#   trigger-pid   the same with the writing backend's pid as the shard: concurrent transactions
#                 never update the same summary row
#   cte           the same upsert as a data-modifying CTE of the server's statement, over the
#                 inserted rows (RETURNING: the stored values); only the server's writes count
#   cte-pid       the CTE with the backend's pid as the shard
# Mixes: hot = the eight price classes of audit-ab.sh cycled over the batch (a one-bid batch is
# always the first class: every client updates the same summary row); spread = prices with 4
# decimals over 0.0001 … 100 and a ROAS of 85 … 125, a different set per pgbench script (the
# scripts are picked at random per transaction: 20 of 512 bids, 100 of 15 or 1 bid).
# Prints per run TPS, bids/s, PostgreSQL CPU µs per bid (postmaster and children, /proc),
# mean latency, failed transactions and whether the summary equals `bids` (sum against count);
# then per size and mix, each form's median against `none`.
#
# audit: seeds N bids (default 2,000,000) as audit-ab.sh does (eight classes, the day before
# 2025-06-01), fills the summary from them with K shards (default 16, as if K backends had
# written every hour), then R rounds (default 3) of, in the same minute: count(*) of the window;
# `BINARY audit` as audit-ab.sh runs it, with each statement's duration logged by PostgreSQL
# (log_min_duration_statement=0 through PGOPTIONS); the audit's pairs read from the summary
# instead, timed in psql (the temporary table `audit_pairs` the audit builds, from the summary);
# one hour of the window aggregated from bids (what a window not aligned to hours would read at
# each end); count(*) again. Prints the audit's wall time, its logged pairs and per-product
# statements, and the audit's wall time with the logged pairs statement replaced by the
# summary's (measured parts; nothing else of the audit changes), each over count(*) timed as
# audit-ab.sh times it (a psql process) and over the count(*) timed inside psql.
#
# Environment: PAIR_COST_PG_PORT (54332), PAIR_COST_PG_BIN (/usr/lib/postgresql/15/bin).
set -euo pipefail

MODE=${1:-}
[[ $MODE == write || $MODE == audit ]] || { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 2; }
shift
SECONDS_PER_RUN=12
ROUNDS=3
CLIENTS=4
SIZES="512 15 1"
MIXES="hot spread"
FORMS="none trigger trigger-pid cte cte-pid"
ROWS=2000000
SHARDS=16
BINARY=""
while (($#)); do
    case "$1" in
        --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --clients) CLIENTS=$2; shift 2 ;;
        --sizes) SIZES=$2; shift 2 ;;
        --mixes) MIXES=$2; shift 2 ;;
        --forms) FORMS=$2; shift 2 ;;
        --rows) ROWS=$2; shift 2 ;;
        --shards) SHARDS=$2; shift 2 ;;
        -*) echo "pair-summary-cost: unknown option $1" >&2; exit 2 ;;
        *) BINARY=$(realpath "$1"); shift ;;
    esac
done
[[ $MODE == write || -n $BINARY ]] || { echo "pair-summary-cost: audit needs a bidengine binary" >&2; exit 2; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_BIN=${PAIR_COST_PG_BIN:-/usr/lib/postgresql/15/bin}
PORT=${PAIR_COST_PG_PORT:-54332}
# shellcheck source=../lib/scratch-pg.sh
source "$ROOT/scripts/lib/scratch-pg.sh"
scratch_pg_start pair-summary-cost "$PORT" "max_connections = 200" "shared_buffers = 256MB" "max_wal_size = 4GB"
DIR=$SCRATCH_DIR

# The summary, and the trigger function of both trigger forms (its argument names the shard).
"${PSQL[@]}" <<'SQL'
CREATE TABLE bid_pair_counts (
    hour         timestamptz NOT NULL,
    current_cpc  numeric     NOT NULL,
    adjusted_cpc numeric     NOT NULL,
    shard        integer     NOT NULL,
    bids         bigint      NOT NULL,
    PRIMARY KEY (hour, current_cpc, adjusted_cpc, shard)
);
CREATE FUNCTION bid_pair_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    writer_shard integer := CASE WHEN TG_ARGV[0] = 'pid' THEN pg_backend_pid() ELSE 0 END;
BEGIN
    INSERT INTO bid_pair_counts AS s (hour, current_cpc, adjusted_cpc, shard, bids)
    SELECT date_trunc('hour', calculated_at, 'UTC'), current_cpc, adjusted_cpc, writer_shard, count(*)
    FROM new_bids GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (hour, current_cpc, adjusted_cpc, shard) DO UPDATE SET bids = s.bids + excluded.bids;
    RETURN NULL;
END $$;
SQL

pg_cpu() { scratch_pg_cpu; }

# BidInsert.plainSQL with its parameters as pgbench variables; `counted` is the CTE forms' upsert.
statement() {  # statement FORM SUFFIX
    local form=$1 v=$2 returning="" counted="" shard=0
    [[ $form == *-pid ]] && shard="pg_backend_pid()"
    if [[ $form == cte* ]]; then
        returning=" RETURNING calculated_at, current_cpc, adjusted_cpc"
        counted=", counted AS (
    INSERT INTO bid_pair_counts AS s (hour, current_cpc, adjusted_cpc, shard, bids)
    SELECT date_trunc('hour', calculated_at, 'UTC'), current_cpc, adjusted_cpc, $shard, count(*)
    FROM inserted GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (hour, current_cpc, adjusted_cpc, shard) DO UPDATE SET bids = s.bids + excluded.bids
)"
    fi
    cat <<EOF
WITH input AS MATERIALIZED (
    SELECT nextval((SELECT pg_get_serial_sequence('bids', 'id')::regclass)) AS id, t.*
    FROM unnest(:p$v::numeric[], :c$v::numeric[], :r$v::numeric[], :a$v::numeric[])
         WITH ORDINALITY AS t(product_id, current_cpc, target_roas, adjusted_cpc, ordinal)
), inserted AS (
    INSERT INTO bids (id, product_id, current_cpc, target_roas, adjusted_cpc)
    SELECT id, product_id, current_cpc, target_roas, adjusted_cpc FROM input$returning
)$counted
SELECT id, true FROM input ORDER BY ordinal;
EOF
}

# Four array literals (product, current, ROAS, adjusted) of N bids, one per line.
arrays() {  # arrays MIX N SEED
    awk -v mix="$1" -v n="$2" -v seed="$3" 'BEGIN {
        split("1.50 0.75 2.10 12.345 3 0.05 9.99 4.20", cpc, " "); split("100 105 95 110 90 150 98 102", roas, " ")
        srand(seed)
        for (i = 0; i < n; i++) {
            if (mix == "hot") { c = cpc[i % 8 + 1]; r = roas[i % 8 + 1] }
            else { c = sprintf("%.4f", (int(rand() * 1000000) + 1) / 10000); r = 85 + int(rand() * 41) }
            # round half away from zero to cents, as the server stores adjusted_cpc
            a = sprintf("%.2f", int(c * r + 0.5 + 1e-9) / 100)
            s = (i ? "," : "")
            P = P s (i + 1); C = C s c; R = R s r; A = A s a
        }
        print "{" P "}"; print "{" C "}"; print "{" R "}"; print "{" A "}" }'
}

run_write() {
    printf '%-5s %-6s %5s %-12s %9s %10s %12s %9s %6s %s\n' round mix bids form tps "bids/s" "pg µs/bid" "lat ms" failed exact
    local round mix size form variants v out before after lines
    for round in $(seq 1 "$ROUNDS"); do
        for mix in $MIXES; do
            for size in $SIZES; do
                variants=1
                [[ $mix == spread ]] && variants=$((size >= 512 ? 20 : 100))
                local defines=()
                for v in $(seq 1 "$variants"); do
                    mapfile -t lines < <(arrays "$mix" "$size" "$((round * 100000 + size * 1000 + v))")
                    defines+=(-D "p$v=${lines[0]}" -D "c$v=${lines[1]}" -D "r$v=${lines[2]}" -D "a$v=${lines[3]}")
                done
                for form in $FORMS; do
                    local files=()
                    for v in $(seq 1 "$variants"); do
                        statement "$form" "$v" >"$DIR/$form.$v.sql"
                        files+=(-f "$DIR/$form.$v.sql")
                    done
                    "${PSQL[@]}" -c "SET client_min_messages = warning" -c "TRUNCATE bids, bid_pair_counts" -c "DROP TRIGGER IF EXISTS bid_pair_counts_add ON bids" >/dev/null
                    if [[ $form == trigger* ]]; then
                        "${PSQL[@]}" -c "CREATE TRIGGER bid_pair_counts_add AFTER INSERT ON bids REFERENCING NEW TABLE AS new_bids
                                         FOR EACH STATEMENT EXECUTE FUNCTION bid_pair_counts_add('${form#trigger-}')" >/dev/null
                    fi
                    "${PSQL[@]}" -c "CHECKPOINT" >/dev/null
                    sleep 0.5
                    before=$(pg_cpu)
                    out=$(as_pg "$PG_BIN/pgbench" -n -h "$DIR" -p "$PORT" -U postgres -M prepared -c "$CLIENTS" -j 2 \
                        -T "$SECONDS_PER_RUN" "${defines[@]}" "${files[@]}" postgres 2>&1) || true
                    sleep 0.5   # a backend's CPU is counted once the postmaster has reaped it
                    after=$(pg_cpu)
                    local exact tps txns failed latency
                    exact=$("${PSQL[@]}" -At -c "SELECT CASE WHEN '$form' = 'none' THEN '-'
                                                     WHEN (SELECT coalesce(sum(bids), 0) FROM bid_pair_counts) = (SELECT count(*) FROM bids)
                                                     THEN 'yes' ELSE 'NO' END")
                    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
                    txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
                    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
                    latency=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
                    grep -q "^tps" <<<"$out" || { echo "pgbench failed:"; tail -5 <<<"$out"; } >&2
                    awk -v round="$round" -v mix="$mix" -v n="$size" -v form="$form" -v tps="${tps:-0}" -v txns="${txns:-0}" \
                        -v cpu="$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')" -v lat="${latency:-0}" \
                        -v failed="${failed:-0}" -v exact="$exact" 'BEGIN {
                            per = (txns > 0) ? cpu * 1e6 / (txns * n) : 0
                            printf "%-5s %-6s %5d %-12s %9.1f %10.0f %12.1f %9.3f %6d %s\n", round, mix, n, form, tps, tps * n, per, lat, failed, exact }'
                done
            done
        done
    done | tee "$DIR/write.txt"
    echo
    echo "medians over the rounds, against none (same mix and size):"
    printf '%-6s %5s %-12s %10s %8s %12s %8s\n' mix bids form "bids/s" "vs none" "pg µs/bid" "vs none"
    awk '$1 ~ /^[0-9]+$/ {
            key = $2 " " $3 " " $4; rate[key] = rate[key] " " $6; cpu[key] = cpu[key] " " $7
            if (!(key in seen)) { seen[key] = 1; order[++count] = key }
        }
        function median(list,   v, k, i, j, t) {
            k = split(list, v, " ")
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
        }
        END {
            for (i = 1; i <= count; i++) {
                split(order[i], f, " "); base = f[1] " " f[2] " none"
                r = median(rate[order[i]]); c = median(cpu[order[i]]); r0 = median(rate[base]); c0 = median(cpu[base])
                printf "%-6s %5d %-12s %10.0f %+7.1f%% %12.1f %+7.1f%%\n", f[1], f[2], f[3], r, (r / r0 - 1) * 100, c, (c / c0 - 1) * 100
            }
        }' "$DIR/write.txt"
}

run_audit() {
    echo "seeding $ROWS bids (load average $(cut -d' ' -f1-3 /proc/loadavg))…"
    # The eight classes of audit-ab.sh (one in eight flagged), spread evenly over 2025-05-31.
    "${PSQL[@]}" -c "
        INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
        SELECT 1 + (g - 1) % 50000, c.cpc, c.roas, round(c.cpc * c.roas / 100, 2),
               '2025-05-31 00:00:00+00'::timestamptz + ((g - 1)::bigint * 86400000000 / $ROWS) * interval '1 microsecond'
        FROM generate_series(1, $ROWS) g,
             LATERAL (SELECT (ARRAY[1.50, 0.75, 2.10, 12.345, 3, 0.05, 9.99, 4.20])[(g - 1) % 8 + 1] AS cpc,
                             (ARRAY[100, 105, 95, 110, 90, 150, 98, 102])[(g - 1) % 8 + 1]::numeric AS roas) c" \
        -c "INSERT INTO bid_pair_counts
            SELECT date_trunc('hour', calculated_at, 'UTC'), current_cpc, adjusted_cpc, (id / 8 % $SHARDS)::int, count(*)
            FROM bids GROUP BY 1, 2, 3, 4" \
        -c "VACUUM ANALYZE bids" -c "VACUUM ANALYZE bid_pair_counts"
    "${PSQL[@]}" -At -c "SELECT (SELECT count(*) FROM bids) || ' bids, ' || count(*) || ' summary rows, '
                                || sum(bids) || ' bids counted' FROM bid_pair_counts"
    local tables="relname LIKE 'audit\\_%' AND relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace"
    local window="'2025-05-25 00:00:00+00' AND calculated_at < '2025-06-01 00:00:00+00'"
    cat >"$DIR/timed.sql" <<SQL
\\timing on
SELECT count(*) FROM bids WHERE calculated_at >= $window;
BEGIN;
CREATE TEMPORARY TABLE audit_pairs ON COMMIT DROP AS
SELECT current_cpc, adjusted_cpc, sum(bids) AS bids FROM bid_pair_counts
WHERE hour >= '2025-05-25 00:00:00+00' AND hour < '2025-06-01 00:00:00+00'
GROUP BY current_cpc, adjusted_cpc;
COMMIT;
SELECT current_cpc, adjusted_cpc, count(*) FROM bids
WHERE calculated_at >= '2025-05-31 12:00:00+00' AND calculated_at < '2025-05-31 13:00:00+00' GROUP BY 1, 2;
SELECT count(*) FROM bids WHERE calculated_at >= $window;
SQL
    printf '%-5s %8s %8s %8s %7s %8s %9s %9s %8s %11s %7s %7s\n' round "count s" "psql s" "audit s" ratio "pairs s" \
        "products" "summary" "edge hr" "new audit s" ratio "ratio'"
    local round log_from start audit_ns times
    for round in $(seq 1 "$ROUNDS"); do
        "${PSQL[@]}" -c "DO \$\$ BEGIN EXECUTE (SELECT 'TRUNCATE ' || string_agg(oid::regclass::text, ', ')
                                                 FROM pg_class WHERE $tables); END \$\$" -c "CHECKPOINT" >/dev/null
        start=$(date +%s%N)
        "${PSQL[@]}" -c "SELECT count(*) FROM bids WHERE calculated_at >= $window" >/dev/null
        local count_ns=$(($(date +%s%N) - start))
        log_from=$(wc -l <"$DIR/server.log")
        start=$(date +%s%N)
        DATABASE_URL=$SCRATCH_URL LOG_LEVEL=warning PGOPTIONS="-c log_min_duration_statement=0" \
            "$BINARY" audit --no-migrate --as-of 2025-06-01T00:00:00Z --output "$DIR/report.txt" >"$DIR/audit.log" 2>&1 ||
            { echo "audit failed:"; tail -5 "$DIR/audit.log"; }
        audit_ns=$(($(date +%s%N) - start))
        # Durations of the audit's pairs and per-product statements, from the server's log.
        local pairs_ms products_ms
        pairs_ms=$(tail -n "+$((log_from + 1))" "$DIR/server.log" | grep 'duration:.*CREATE TEMPORARY TABLE audit_pairs' |
            sed -n 's/.*duration: \([0-9.]*\) ms.*/\1/p' | tail -1)
        products_ms=$(tail -n "+$((log_from + 1))" "$DIR/server.log" | grep 'duration:.*CREATE TEMPORARY TABLE audit_flagged_products' |
            sed -n 's/.*duration: \([0-9.]*\) ms.*/\1/p' | tail -1)
        times=$("${PSQL[@]}" -f "$DIR/timed.sql" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tr '\n' ' ')
        # times: count, BEGIN, CREATE (summary), COMMIT, edge hour, count
        awk -v r="$round" -v c="$count_ns" -v a="$audit_ns" -v p="${pairs_ms:-0}" -v q="${products_ms:-0}" -v t="$times" 'BEGIN {
            split(t, x, " "); inside = (x[1] + x[6]) / 2
            s = x[2] + x[3] + x[4]; new = a / 1e6 - p + s
            printf "%-5s %8.3f %8.3f %8.3f %6.1fx %8.3f %9.3f %9.3f %8.3f %11.3f %6.1fx %6.1fx\n", r, c / 1e9, inside / 1e3, a / 1e9,
                a / c, p / 1e3, q / 1e3, s / 1e3, x[5] / 1e3, new / 1e3, new / (c / 1e6), new / inside }'
    done
    echo "(ratio: over count s, count(*) timed as audit-ab.sh does, psql's start included; ratio': over psql s,"
    echo " the mean of the two count(*) timed inside psql after the audit)"
    grep -h "Bids reviewed\|Bids flagged" "$DIR/report.txt" || true
}

if [[ $MODE == write ]]; then run_write; else run_audit; fi
