#!/usr/bin/env bash
# Instructions per single-bid answer of one or more `bidengine` builds, counted by callgrind
# while each serves the same closed-loop load (docs/decisions/0036-instructions-per-answer.md).
#
#   scripts/dev/server-instructions.sh NAME=BINARY[=MIGRATIONS_DIR] ...
#
# Timings on this 2-core machine move ±15 % between runs of one binary; user-space
# instructions per answer move about 3 %, so a change of a few percent in the server's own work
# shows in one run of each build. Kernel time (sockets, epoll) and PostgreSQL are not counted.
#
# For each build: a scratch cluster (port $INSTR_PG_PORT or 54332), the server under
# `valgrind --tool=callgrind` on port $INSTR_HTTP_PORT (18091) with one API key, `wrk` with
# $INSTR_CONNECTIONS (16) connections posting bids for 10 s of warm-up, then counters zeroed and
# $INSTR_SECONDS (20) s counted. Prints instructions per answer and leaves the profile in
# $INSTR_OUT (/tmp/server-instructions)/NAME.callgrind for `callgrind_annotate`. MIGRATIONS_DIR
# defaults to this checkout's Migrations (an older build needs its own).
#
# Needs valgrind, wrk, gcc and binutils. Valgrind 3.19 cannot read Swift 6's DWARF (the copy it
# runs has its debug sections stripped) and writes into the signal mask libdispatch passes to
# sigsuspend, which sits in read-only memory: a preloaded sigsuspend passes a copy instead.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_BIN=${INSTR_PG_BIN:-$(pg_config --bindir)}
PG_PORT=${INSTR_PG_PORT:-54332}
HTTP_PORT=${INSTR_HTTP_PORT:-18091}
CONNECTIONS=${INSTR_CONNECTIONS:-16}
SECONDS_COUNTED=${INSTR_SECONDS:-20}
OUT=${INSTR_OUT:-/tmp/server-instructions}
(($# > 0)) || { sed -n '2,6p' "$0"; exit 2; }
for tool in valgrind callgrind_control wrk gcc objcopy; do
    command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install valgrind wrk gcc binutils)" >&2; exit 1; }
done
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/server-instructions.XXXXXX)
SERVER_PID=""
cleanup() {
    local rc=$?
    [[ -n $SERVER_PID ]] && kill -INT "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
    (exit "$rc")
    scratch_pg_cleanup
}
# shellcheck source=../lib/scratch-pg.sh
source "$ROOT/scripts/lib/scratch-pg.sh"
scratch_pg_cluster server-instructions "$PG_PORT"
trap cleanup EXIT

cat >"$WORK/sigsuspend.c" <<'EOF'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, 8);
}
EOF
gcc -shared -fPIC -O2 -o "$WORK/sigsuspend.so" "$WORK/sigsuspend.c"
cat >"$WORK/bid.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer instructions-key"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/api/bid", nil, string.format('{"product_id":%d,"current_cpc":"1.50","target_roas":"150"}', n))
end
EOF
echo "instructions-key" >"$WORK/keys"
URL=http://127.0.0.1:$HTTP_PORT

for spec in "$@"; do
    IFS='=' read -r name binary migrations <<<"$spec"
    migrations=${migrations:-$ROOT/Migrations}
    as_pg "$PG_BIN/createdb" -h "$SCRATCH_DIR" -p "$PG_PORT" -U postgres "$name"
    objcopy --strip-debug "$binary" "$WORK/$name"
    LD_PRELOAD=$WORK/sigsuspend.so \
        DATABASE_URL="postgresql:///$name?host=$SCRATCH_DIR&port=$PG_PORT&user=postgres" \
        BIDENGINE_MIGRATIONS_DIR=$migrations BIDENGINE_API_KEYS_FILE=$WORK/keys LOG_LEVEL=warning \
        valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$WORK/$name.%p" \
        "$WORK/$name" serve --host 127.0.0.1 --port "$HTTP_PORT" >"$WORK/$name.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 300); do curl -sf -o /dev/null "$URL/healthz" && break; sleep 0.5; done
    wrk -t1 -c"$CONNECTIONS" -d10s -s "$WORK/bid.lua" "$URL" >/dev/null
    callgrind_control -z "$SERVER_PID" >/dev/null 2>&1
    report=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_COUNTED}s" -s "$WORK/bid.lua" "$URL")
    callgrind_control -d "$SERVER_PID" >/dev/null 2>&1
    answers=$(awk '/requests in/ { print $1 }' <<<"$report")
    if grep -q "Non-2xx" <<<"$report"; then echo "$name: some answers were not 2xx" >&2; exit 1; fi
    kill -INT "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=""
    profile=$(ls "$WORK/$name".*.1)
    cp "$profile" "$OUT/$name.callgrind"
    total=$(awk '/^totals:/ { print $2 }' "$profile")
    awk -v n="$name" -v t="$total" -v a="$answers" \
        'BEGIN { printf "%s: %d answers, %.0f instructions per answer\n", n, a, t / a }'
done
