#!/usr/bin/env bash
# Query-plan evidence for the bids table (docs/query-plans.md).
#
#   scripts/dev/explain-plans.sh [ROWS] [--partitioned[=daily|monthly|both]]
#
# ROWS defaults to 5000000. Without EXPLAIN_DATABASE_URL the script initdb's a scratch PostgreSQL
# cluster under /tmp (unix socket only, listen_addresses='', port $EXPLAIN_PG_PORT or 54329; as root
# it runs the server as the `postgres` user because initdb refuses root) and stops and deletes it on
# exit. With EXPLAIN_DATABASE_URL it works inside a scratch schema of that database and drops the
# schema on exit; nothing outside that schema is touched.
#
# Steps: apply Migrations/*.sql in order, seed ROWS bids (10,000 products with skewed popularity,
# calculated_at spread over the 90 days before now, in insertion order like a live table, prices
# with 2-4 decimals), VACUUM ANALYZE, then for each table layout print sizes and, per query, the
# fastest and median execution time, median planning time and buffers of $EXPLAIN_RUNS runs
# (EXPLAIN ANALYZE, TIMING OFF) followed by one EXPLAIN (ANALYZE, BUFFERS, TIMING) plan. Finally
# measure retention: removing the oldest 30 days (DELETE + VACUUM on the plain table, then one more
# week of inserts and the audit again; DETACH/DROP of partitions on the partitioned copies).
#
# --partitioned copies the same rows into tables RANGE-partitioned by calculated_at (daily and/or
# monthly partitions, same two indexes) and runs the same queries and retention on them.
#
# Environment: EXPLAIN_DATABASE_URL, EXPLAIN_PG_PORT (54329), EXPLAIN_PG_BIN
# (/usr/lib/postgresql/15/bin), EXPLAIN_SHARED_BUFFERS (512MB), EXPLAIN_RUNS (7).
set -euo pipefail

ROWS=5000000
LAYOUTS=()
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
for arg in "$@"; do
    case "$arg" in
        --partitioned|--partitioned=both) LAYOUTS=(daily monthly) ;;
        --partitioned=daily) LAYOUTS=(daily) ;;
        --partitioned=monthly) LAYOUTS=(monthly) ;;
        -h|--help) usage; exit 0 ;;
        ''|*[!0-9]*) echo "explain-plans: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
        *) ROWS=$arg ;;
    esac
done
(( ROWS >= 10000 )) || { echo "explain-plans: ROWS must be at least 10000" >&2; exit 2; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_BIN=${EXPLAIN_PG_BIN:-/usr/lib/postgresql/15/bin}
PORT=${EXPLAIN_PG_PORT:-54329}
RUNS=${EXPLAIN_RUNS:-7}
PRODUCTS=10000
SCHEMA=public

log() { printf '\n==== %s ====\n' "$*"; }
now_ns() { date +%s%N; }
secs_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

drop_scratch_schema() {  # on exit with EXPLAIN_DATABASE_URL: only the scratch schema goes
    local rc=$?
    set +e
    if [[ $SCHEMA != public ]]; then
        PGOPTIONS='' psql -X -q "$EXPLAIN_DATABASE_URL" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1
    fi
    exit "$rc"
}

SCRIPT_START=$(now_ns)

# ---------------------------------------------------------------------------------------------
# Database: scratch cluster or scratch schema
# ---------------------------------------------------------------------------------------------
if [[ -n ${EXPLAIN_DATABASE_URL:-} ]]; then
    trap drop_scratch_schema EXIT
    trap 'exit 130' INT TERM
    SCHEMA=explain_plans_$$
    PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$EXPLAIN_DATABASE_URL")
    PGOPTIONS='' "${PSQL[@]}" -c "CREATE SCHEMA $SCHEMA" >/dev/null
    echo "database: EXPLAIN_DATABASE_URL, scratch schema $SCHEMA"
else
    # shellcheck source=../lib/scratch-pg.sh
    source "$ROOT/scripts/lib/scratch-pg.sh"
    scratch_pg_cluster explain-pg "$PORT" "shared_buffers = ${EXPLAIN_SHARED_BUFFERS:-512MB}" \
        "max_wal_size = 8GB" "checkpoint_timeout = 30min" "autovacuum = off" "timezone = 'UTC'"
    echo "database: scratch cluster $SCRATCH_DIR (port $PORT, unix socket only)"
fi
export PGOPTIONS="-c search_path=$SCHEMA -c TimeZone=UTC"

sql() { "${PSQL[@]}" -c "$1"; }              # run statements, show their output
val() { "${PSQL[@]}" -At -c "$1"; }           # one value

log "environment"
val "SELECT version()"
echo "cpus: $(nproc), memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
val "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings
     WHERE name IN ('shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'jit',
                    'max_parallel_workers_per_gather', 'autovacuum')"
echo "rows: $ROWS, products: $PRODUCTS, partitioned layouts: ${LAYOUTS[*]:-none}"

# ---------------------------------------------------------------------------------------------
# Schema and data
# ---------------------------------------------------------------------------------------------
log "migrations"
for migration in "$ROOT"/Migrations/*.sql; do
    echo "applying ${migration#"$ROOT"/}"
    # One transaction per file, as `bidengine migrate` applies them (LOCK TABLE needs one).
    "${PSQL[@]}" --single-transaction -f "$migration"
done
# VACUUM is run (and timed) explicitly; bids is partitioned, so the setting goes on each partition.
"${PSQL[@]}" -At -c "SELECT format('ALTER TABLE %s SET (autovacuum_enabled = false);', relid)
                      FROM pg_partition_tree('bids') WHERE isleaf" | "${PSQL[@]}" -f -

# Data ends now (so the issue's literal `now() - interval '7 days'` query finds rows) and starts 90
# days earlier. The nightly audit's as_of is today's midnight UTC: it audits the last 7 whole days.
END_TS=$(val "SELECT date_trunc('second', now())")
START_TS=$(val "SELECT timestamptz '$END_TS' - interval '90 days'")
AS_OF=$(val "SELECT date_trunc('day', timestamptz '$END_TS')")
HISTORY_FROM=$(val "SELECT timestamptz '$AS_OF' - interval '30 days'")
WINDOW_FROM=$(val "SELECT timestamptz '$AS_OF' - interval '7 days'")
echo "data spans [$START_TS, $END_TS); audit window [$WINDOW_FROM, $AS_OF); history from = $HISTORY_FROM"

log "seeding $ROWS rows into bids (migration indexes in place, rows inserted in time order)"
# Popularity: rank = floor(N * u^3) gives rank 0 about 4.6% of all bids and rank N-1 about 0.003%.
# Ranks are scattered over product ids 100000..109999 by a permutation (7919 is coprime to 10000).
# Rank 0 (product 100000, the most frequent overall) stops bidding 31 days before the end and its
# later bids go to rank 1 (product 107919): a "quiet" product that is frequent in the statistics
# but absent from the last 30 days, and a "popular" one that dominates the recent past.
# current_cpc has 2-4 decimals, target_roas 0-2, adjusted_cpc = round(cpc * roas / 100, 2) as BidCore.
# insert_bids LO HI: rows LO..HI of the series; row g is stamped (g - 1 + random()) / ROWS * 90 days
# after START_TS, so rows beyond ROWS continue past END_TS at the same rate (used after retention).
insert_bids() {
    "${PSQL[@]}" <<SQL
SELECT setseed($1::float8 / $ROWS / 4) \gset
INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
SELECT product_id, cpc, roas, round(cpc * roas / 100, 2), ts
FROM (
    SELECT 100000 + (CASE WHEN r.rank = 0 AND g > $ROWS * 59 / 90 THEN 1 ELSE r.rank END * 7919) % $PRODUCTS AS product_id,
           round((0.05 + 20 * random() ^ 2)::numeric, 2 + (g % 3)::int)           AS cpc,
           round((50 + 450 * random())::numeric, (g % 3)::int)                     AS roas,
           timestamptz '$START_TS' + ((g - 1 + random()) / $ROWS) * interval '90 days' AS ts
    FROM generate_series($1::bigint, $2::bigint) AS g,
         LATERAL (SELECT floor($PRODUCTS * random() ^ 3)::bigint + 0 * g AS rank) AS r
) AS s;
SQL
}
CHUNK=1000000
seed_start=$(now_ns)
for (( lo = 1; lo <= ROWS; lo += CHUNK )); do
    hi=$(( lo + CHUNK - 1 < ROWS ? lo + CHUNK - 1 : ROWS ))
    insert_bids "$lo" "$hi"
    echo "  inserted rows $lo..$hi ($(secs_since "$seed_start") s)"
done
insert_s=$(secs_since "$seed_start")
vac_start=$(now_ns)
sql "VACUUM ANALYZE bids"
vacuum_s=$(secs_since "$vac_start")
echo "seeding: INSERT $insert_s s, VACUUM ANALYZE $vacuum_s s"

POPULAR=$(( 100000 + 7919 % PRODUCTS ))                 # rank 1, plus rank 0's bids of the last 31 days
QUIET=100000                                            # rank 0, silent for the last 31 days
COUNTS="SELECT product_id, count(*) AS n FROM bids GROUP BY product_id"
MEDIUM=$(val "SELECT product_id FROM ($COUNTS) c ORDER BY n, product_id OFFSET (SELECT count(*) / 2 FROM ($COUNTS) c) LIMIT 1")
RARE=$(val "SELECT product_id FROM ($COUNTS) c ORDER BY n, product_id LIMIT 1")
WINDOW_SQL="calculated_at >= timestamptz '$AS_OF' - interval '7 days' AND calculated_at < timestamptz '$AS_OF'"
sql "SELECT count(*) AS rows, count(DISTINCT product_id) AS products,
            count(*) FILTER (WHERE $WINDOW_SQL) AS audit_window_rows,
            round(100.0 * count(*) FILTER (WHERE $WINDOW_SQL) / count(*), 1) AS audit_window_pct,
            count(*) FILTER (WHERE calculated_at < date_trunc('day', timestamptz '$START_TS') + interval '30 days') AS older_than_retention_cutoff
     FROM bids"
sql "SELECT p.role, p.product_id, count(b.*) AS rows_90d,
            count(b.*) FILTER (WHERE b.calculated_at >= timestamptz '$HISTORY_FROM') AS rows_30d,
            max(b.calculated_at) AS newest
     FROM (VALUES ('popular', $POPULAR::numeric, 1), ('quiet', $QUIET, 2), ('medium', $MEDIUM, 3), ('rare', $RARE, 4))
          AS p(role, product_id, ord)
     LEFT JOIN bids b ON b.product_id = p.product_id
     GROUP BY p.role, p.product_id, p.ord ORDER BY p.ord"
sql "SELECT attname, n_distinct, round(correlation::numeric, 3) AS correlation FROM pg_stats
     WHERE schemaname = current_schema() AND tablename = 'bids' ORDER BY attname"

# Keyset cursor deep into the popular product's 30 days: the 10,000th row (the last row of page 100),
# or the middle row when there are fewer (small ROWS).
POPULAR_30D=$(val "SELECT count(*) FROM bids WHERE product_id = $POPULAR AND calculated_at >= timestamptz '$HISTORY_FROM'")
DEPTH=$(( POPULAR_30D > 10000 ? 10000 : POPULAR_30D / 2 ))
PAGE=$(( DEPTH / 100 + 1 ))
KEY="FROM bids WHERE product_id = $POPULAR AND calculated_at >= timestamptz '$HISTORY_FROM'
     ORDER BY calculated_at DESC, id DESC OFFSET $(( DEPTH - 1 )) LIMIT 1"
KEY_TS=$(val "SELECT calculated_at $KEY")
KEY_ID=$(val "SELECT id $KEY")
echo "keyset cursor for page $PAGE of the popular product (after row $DEPTH): ($KEY_TS, $KEY_ID)"

# Helper: $RUNS runs of EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON): fastest and median
# execution time, median planning time, and the buffers of the last run (shared hit + read, temp
# blocks written). TIMING OFF keeps the per-node clock overhead of the printed plans out of these
# numbers; no rows travel to a client either. The fastest run is the least disturbed by other work.
sql "CREATE FUNCTION explain_stats(q text, runs int)
RETURNS TABLE (exec_min numeric, exec_median numeric, plan_median numeric, buffers bigint, temp_written bigint)
LANGUAGE plpgsql AS \$fn\$
DECLARE j json; e numeric[] := '{}'; p numeric[] := '{}';
BEGIN
    FOR i IN 1..runs LOOP
        EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) ' || q INTO j;
        e := e || (j->0->>'Execution Time')::numeric;
        p := p || (j->0->>'Planning Time')::numeric;
    END LOOP;
    RETURN QUERY SELECT
        round((SELECT min(x) FROM unnest(e) x), 2),
        round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(e) x)::numeric, 2),
        round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(p) x)::numeric, 2),
        (j->0->'Plan'->>'Shared Hit Blocks')::bigint + (j->0->'Plan'->>'Shared Read Blocks')::bigint,
        (j->0->'Plan'->>'Temp Written Blocks')::bigint;
END \$fn\$"

SUMMARY=()   # "layout|query|exec min|exec median|plan median|buffers|temp written"

# explain LAYOUT TABLE NAME QUERY [SETUP]
explain() {
    local layout=$1 table=$2 name=$3 query=${4//\{T\}/$2} setup=${5:-RESET work_mem} m
    log "$layout: $name"
    [[ -n ${5:-} ]] && echo "-- $setup"
    echo "$query;"
    # In a transaction block, so that DECLARE (the audit's cursor) can be explained like a query.
    m=$("${PSQL[@]}" -At -F' ' -c "BEGIN" -c "$setup" -c "SELECT * FROM explain_stats(\$q\$$query\$q\$, $RUNS)" -c "COMMIT")
    read -r e_min e_med p_med bufs temp <<<"$m"
    echo "-- $RUNS runs (EXPLAIN ANALYZE, TIMING OFF): execution fastest $e_min ms, median $e_med ms; planning median $p_med ms; buffers $bufs, temp written $temp"
    SUMMARY+=("$layout|$name|$e_min|$e_med|$p_med|$bufs|$temp")
    "${PSQL[@]}" -At -c "BEGIN" -c "$setup" -c "EXPLAIN (ANALYZE, BUFFERS, TIMING) $query" -c "COMMIT"
}

sizes() {
    local table=$1
    log "$table: sizes"
    local leaves="SELECT relid FROM pg_partition_tree('$table') WHERE isleaf
                  UNION ALL SELECT oid FROM pg_class WHERE oid = '$table'::regclass AND relkind = 'r'"
    sql "WITH parts AS ($leaves)
         SELECT '$table' AS \"table\", count(*) AS leaf_tables,
                pg_size_pretty(sum(pg_table_size(relid))) AS heap_toast,
                pg_size_pretty(sum(pg_indexes_size(relid))) AS indexes,
                pg_size_pretty(sum(pg_total_relation_size(relid))) AS total
         FROM parts"
    sql "SELECT regexp_replace(i.relname, '^${table}_p[0-9]+_', '<partition>_') AS index, count(*) AS partitions,
                pg_size_pretty(sum(pg_relation_size(i.oid))) AS size
         FROM ($leaves) t
         JOIN pg_index x ON x.indrelid = t.relid JOIN pg_class i ON i.oid = x.indexrelid
         GROUP BY 1 ORDER BY 1"
}

queries() {
    local layout=$1 table=$2
    local audit="SELECT id, product_id, current_cpc, adjusted_cpc FROM {T}"
    local bounds="calculated_at >= timestamptz '$WINDOW_FROM' AND calculated_at < timestamptz '$AS_OF'"
    local history="SELECT id, product_id, current_cpc, target_roas, adjusted_cpc, calculated_at FROM {T}"
    local order="ORDER BY calculated_at DESC, id DESC"
    # BidHistoryQuery.sql as the service sends it, with the values it binds when the client gives
    # no since/until/cursor: -infinity, infinity, (infinity, Int64.max), limit 100 + 1.
    local app="SELECT id, product_id, current_cpc, target_roas, adjusted_cpc, to_char(calculated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM {T}"
    local app_where="calculated_at >= '-infinity'::timestamptz AND calculated_at < 'infinity'::timestamptz AND (calculated_at, id) < ('infinity'::timestamptz, 9223372036854775807::bigint)"

    explain "$layout" "$table" "a1 audit, 7-day window, ORDER BY product_id" \
        "$audit WHERE $WINDOW_SQL ORDER BY product_id"
    explain "$layout" "$table" "a2 audit, ORDER BY product_id, work_mem=64MB" \
        "$audit WHERE $WINDOW_SQL ORDER BY product_id" "SET work_mem = '64MB'"
    explain "$layout" "$table" "a3 audit as in the issue: > now() - 7 days ORDER BY product_id" \
        "$audit WHERE calculated_at > now() - interval '7 days' ORDER BY product_id"
    explain "$layout" "$table" "a4 streaming audit, no ORDER BY" \
        "$audit WHERE $WINDOW_SQL"
    explain "$layout" "$table" "a5 streaming audit, no ORDER BY, both bounds precomputed" \
        "$audit WHERE $bounds"
    explain "$layout" "$table" "a6 per-product totals in SQL (GROUP BY product_id)" \
        "SELECT product_id, count(*), sum(current_cpc), sum(adjusted_cpc) FROM {T} WHERE $WINDOW_SQL GROUP BY product_id ORDER BY product_id"
    explain "$layout" "$table" "a7 service audit cursor: both bounds, ORDER BY calculated_at" \
        "DECLARE audit_bids NO SCROLL CURSOR FOR $audit WHERE $bounds ORDER BY calculated_at"
    explain "$layout" "$table" "b1 history, popular, page 1" \
        "$history WHERE product_id = $POPULAR AND calculated_at >= timestamptz '$HISTORY_FROM' $order LIMIT 100"
    explain "$layout" "$table" "b2 history, popular, keyset page $PAGE" \
        "$history WHERE product_id = $POPULAR AND calculated_at >= timestamptz '$HISTORY_FROM' AND (calculated_at, id) < (timestamptz '$KEY_TS', $KEY_ID) $order LIMIT 100"
    explain "$layout" "$table" "b3 history, medium, page 1" \
        "$history WHERE product_id = $MEDIUM AND calculated_at >= timestamptz '$HISTORY_FROM' $order LIMIT 100"
    explain "$layout" "$table" "b4 history, rare, page 1" \
        "$history WHERE product_id = $RARE AND calculated_at >= timestamptz '$HISTORY_FROM' $order LIMIT 100"
    explain "$layout" "$table" "b5 history, quiet (no bids in the 30 days), page 1" \
        "$history WHERE product_id = $QUIET AND calculated_at >= timestamptz '$HISTORY_FROM' $order LIMIT 100"
    explain "$layout" "$table" "b6 service statement, popular, no since/until/cursor" \
        "$app WHERE product_id = $POPULAR::numeric AND $app_where $order LIMIT 101"
    explain "$layout" "$table" "b7 service statement, quiet, no since/until/cursor" \
        "$app WHERE product_id = $QUIET::numeric AND $app_where $order LIMIT 101"
    explain "$layout" "$table" "b8 service statement, quiet, since = 30 days ago" \
        "$app WHERE product_id = $QUIET::numeric AND ${app_where/-infinity/$HISTORY_FROM} $order LIMIT 101"
    # GET /api/bids/{id} and the idempotency lookup (JOIN bids b ON b.id = k.bid_id) find a bid by
    # id alone: no partition key, so a partitioned table cannot prune.
    explain "$layout" "$table" "c1 one bid by id (GET /api/bids/{id}, idempotency lookup)" \
        "$app WHERE id = $KEY_ID"
    if [[ $layout == plain ]]; then
        explain "$layout" "$table" "b5 quiet, enable_incremental_sort=off" \
            "$history WHERE product_id = $QUIET AND calculated_at >= timestamptz '$HISTORY_FROM' $order LIMIT 100" \
            "SET enable_incremental_sort = off"
        explain "$layout" "$table" "b6 popular, enable_incremental_sort=off" \
            "$app WHERE product_id = $POPULAR::numeric AND $app_where $order LIMIT 101" \
            "SET enable_incremental_sort = off"
        explain "$layout" "$table" "b7 quiet, enable_incremental_sort=off" \
            "$app WHERE product_id = $QUIET::numeric AND $app_where $order LIMIT 101" \
            "SET enable_incremental_sort = off"
    fi
}

# ---------------------------------------------------------------------------------------------
# Partitioned copies (experiment only; BidEngine's migration ships the plain table)
# ---------------------------------------------------------------------------------------------
SEED_SUMMARY=("plain|INSERT ${insert_s} s + VACUUM ANALYZE ${vacuum_s} s")

make_partitioned() {
    local layout=$1 table=bids_$1 step fmt started
    case "$layout" in daily) step='1 day'; fmt=YYYYMMDD ;; monthly) step='1 month'; fmt=YYYYMM ;; esac
    log "creating $table: RANGE (calculated_at), $layout partitions, same indexes"
    # A primary key on a partitioned table must contain the partition key: (id, calculated_at).
    sql "CREATE TABLE $table (
            id            bigint GENERATED BY DEFAULT AS IDENTITY,
            product_id    numeric       NOT NULL,
            current_cpc   numeric       NOT NULL CHECK (current_cpc >= 0),
            target_roas   numeric       NOT NULL CHECK (target_roas > 0),
            adjusted_cpc  numeric(38, 2) NOT NULL CHECK (adjusted_cpc >= 0),
            calculated_at timestamptz   NOT NULL DEFAULT now(),
            PRIMARY KEY (id, calculated_at)
         ) PARTITION BY RANGE (calculated_at);
         CREATE INDEX ${table}_calculated_at_idx ON $table (calculated_at);
         CREATE INDEX ${table}_product_history_idx ON $table (product_id, calculated_at DESC, id DESC)"
    val "SELECT format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L) WITH (autovacuum_enabled = false);',
                       '${table}_p' || to_char(lo, '$fmt'), '$table', lo, lo + interval '$step')
         FROM generate_series(date_trunc('${step#1 }', timestamptz '$START_TS'),
                              date_trunc('${step#1 }', timestamptz '$END_TS'), interval '$step') AS lo" \
        | "${PSQL[@]}"
    echo "partitions: $(val "SELECT count(*) FROM pg_partition_tree('$table') WHERE isleaf")"
    started=$(now_ns)
    sql "INSERT INTO $table OVERRIDING SYSTEM VALUE SELECT * FROM bids ORDER BY id"
    local ins_s; ins_s=$(secs_since "$started")
    started=$(now_ns)
    sql "VACUUM ANALYZE $table"
    local vac_s; vac_s=$(secs_since "$started")
    echo "copy: INSERT $ins_s s, VACUUM ANALYZE $vac_s s"
    SEED_SUMMARY+=("$layout|INSERT ${ins_s} s + VACUUM ANALYZE ${vac_s} s (copied from bids)")
}

for layout in "${LAYOUTS[@]}"; do make_partitioned "$layout"; done

sizes bids
for layout in "${LAYOUTS[@]}"; do sizes "bids_$layout"; done

queries plain bids
for layout in "${LAYOUTS[@]}"; do queries "$layout" "bids_$layout"; done

# ---------------------------------------------------------------------------------------------
# Retention: remove everything older than the oldest day + 30 days
# ---------------------------------------------------------------------------------------------
CUTOFF=$(val "SELECT date_trunc('day', timestamptz '$START_TS') + interval '30 days'")
RETENTION=()   # "layout|operation|ms|WAL"

# timed LAYOUT OPERATION SQL... : runs the statements with \timing, reports the summed time and WAL
timed() {
    local layout=$1 op=$2; shift 2
    local lsn out ms
    lsn=$(val "SELECT pg_current_wal_lsn()")
    out=$( { printf '%s\n' '\timing on'; printf '%s\n' "$@"; } | "${PSQL[@]}" )
    echo "$out"
    ms=$(awk '/^Time: / { s += $2 } END { printf "%.1f", s }' <<<"$out")
    local wal; wal=$(val "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn'))")
    echo "-- $op: ${ms} ms, WAL ${wal}"
    RETENTION+=("$layout|$op|$ms|$wal")
}

log "retention on bids (plain): DELETE older than $CUTOFF, then VACUUM"
RET_ROWS=$(val "SELECT count(*) FROM bids WHERE calculated_at < timestamptz '$CUTOFF'")
echo "rows older than cutoff: $RET_ROWS"
size_before=$(val "SELECT pg_size_pretty(pg_total_relation_size('bids'))")
timed plain "DELETE $RET_ROWS rows" "DELETE FROM bids WHERE calculated_at < timestamptz '$CUTOFF';"
timed plain "VACUUM bids afterwards" "VACUUM bids;"
echo "bids total size: before $size_before, after DELETE+VACUUM $(val "SELECT pg_size_pretty(pg_total_relation_size('bids'))") (space is reused, not returned)"

NEW_ROWS=$(( ROWS * 7 / 90 ))
NEW_FROM=$END_TS
NEW_TO=$(val "SELECT timestamptz '$END_TS' + interval '7 days'")
log "plain after retention: the next 7 days ($NEW_ROWS rows) are inserted into the space the DELETE freed"
started=$(now_ns)
insert_bids $(( ROWS + 1 )) $(( ROWS + NEW_ROWS ))
sql "VACUUM ANALYZE bids"
echo "insert + VACUUM ANALYZE: $(secs_since "$started") s"
sql "SELECT (SELECT relpages FROM pg_class WHERE oid = 'bids'::regclass) AS heap_pages,
            min((ctid::text::point)[0])::bigint AS first_page_of_new_week,
            max((ctid::text::point)[0])::bigint AS last_page_of_new_week,
            count(DISTINCT (ctid::text::point)[0]) AS pages_holding_new_week,
            (SELECT round(correlation::numeric, 3) FROM pg_stats WHERE schemaname = current_schema()
               AND tablename = 'bids' AND attname = 'calculated_at') AS calculated_at_correlation,
            pg_size_pretty(pg_total_relation_size('bids')) AS total_size
     FROM bids WHERE calculated_at >= timestamptz '$NEW_FROM'"
explain plain bids "a7 service audit cursor on the new week, after DELETE retention" \
    "DECLARE audit_bids NO SCROLL CURSOR FOR SELECT id, product_id, current_cpc, adjusted_cpc FROM {T} WHERE calculated_at >= timestamptz '$NEW_FROM' AND calculated_at < timestamptz '$NEW_TO' ORDER BY calculated_at"
explain plain bids "a1 ORDER BY product_id on the new week, after DELETE retention" \
    "SELECT id, product_id, current_cpc, adjusted_cpc FROM {T} WHERE calculated_at >= timestamptz '$NEW_FROM' AND calculated_at < timestamptz '$NEW_TO' ORDER BY product_id"

for layout in "${LAYOUTS[@]}"; do
    table=bids_$layout
    log "retention on $table: drop partitions wholly older than $CUTOFF"
    parts=$(val "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_partition_tree('$table') t
                 JOIN pg_class c ON c.oid = t.relid
                 WHERE t.isleaf AND c.relname < '${table}_p' || to_char(timestamptz '$CUTOFF',
                       CASE WHEN '$layout' = 'daily' THEN 'YYYYMMDD' ELSE 'YYYYMM' END)")
    nparts=$(wc -w <<<"$parts")
    rows_in=$(val "SELECT 0$(for p in $parts; do printf ' + (SELECT count(*) FROM %s)' "$p"; done)")
    echo "partitions to remove: $nparts ($rows_in rows)"
    stmts=(); for p in $parts; do stmts+=("DROP TABLE $p;"); done
    timed "$layout" "DROP TABLE of $nparts partitions ($rows_in rows)" "${stmts[@]}"
    left=$(val "SELECT count(*) FROM $table WHERE calculated_at < timestamptz '$CUTOFF'")
    if (( left > 0 )); then
        timed "$layout" "DELETE the $left remaining rows older than the cutoff" \
            "DELETE FROM $table WHERE calculated_at < timestamptz '$CUTOFF';"
    fi
done

# DETACH PARTITION ... CONCURRENTLY (no ACCESS EXCLUSIVE lock on the parent) is what a live system
# would use before DROP; time it on the oldest remaining partition of each layout.
for layout in "${LAYOUTS[@]}"; do
    table=bids_$layout
    oldest=$(val "SELECT c.relname FROM pg_partition_tree('$table') t JOIN pg_class c ON c.oid = t.relid
                  WHERE t.isleaf ORDER BY c.relname LIMIT 1")
    n=$(val "SELECT count(*) FROM $oldest")
    log "retention on $table: DETACH CONCURRENTLY + DROP of one partition ($oldest, $n rows)"
    timed "$layout" "DETACH CONCURRENTLY + DROP of 1 partition ($n rows)" \
        "ALTER TABLE $table DETACH PARTITION $oldest CONCURRENTLY;" "DROP TABLE $oldest;"
done

# ---------------------------------------------------------------------------------------------
log "summary"
echo "rows: $ROWS; audit window [$WINDOW_FROM, $AS_OF); history from $HISTORY_FROM"
echo "products: popular $POPULAR, quiet $QUIET, medium $MEDIUM, rare $RARE"
echo
echo "seeding:"
for s in "${SEED_SUMMARY[@]}"; do echo "  ${s%%|*}: ${s#*|}"; done
echo
echo "exec = execution ms, fastest / median of $RUNS runs; plan = planning ms, median; buffers = shared hit + read; temp = temp blocks written"
printf '%-8s | %-64s | %9s | %9s | %7s | %8s | %5s\n' layout query "exec min" "exec med" "plan" buffers temp
for s in "${SUMMARY[@]}"; do
    IFS='|' read -r l q e m p b t <<<"$s"
    printf '%-8s | %-64s | %9s | %9s | %7s | %8s | %5s\n' "$l" "$q" "$e" "$m" "$p" "$b" "$t"
done
echo
printf '%-8s | %-64s | %10s | %s\n' layout "retention operation" ms WAL
for s in "${RETENTION[@]}"; do
    IFS='|' read -r l o m w <<<"$s"
    printf '%-8s | %-64s | %10s | %s\n' "$l" "$o" "$m" "$w"
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine inflates the timings)"
echo "script runtime: $(secs_since "$SCRIPT_START") s"
