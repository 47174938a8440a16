#!/usr/bin/env bash
# Checks a running BidEngine against openapi.yaml with Schemathesis (property-based API testing).
#
#   bash scripts/ci/schemathesis.sh PORT_OR_URL [schemathesis run options…]
#   bash scripts/ci/schemathesis.sh --start BIN [schemathesis run options…]
#
# PORT_OR_URL: 8080 means http://127.0.0.1:8080. --start BIN runs `BIN serve` on a free port over
# its own throwaway embedded PostgreSQL (DATABASE_URL is ignored, state under a temporary
# directory, no API keys), waits for /readyz, tests it, stops it with SIGTERM and deletes its state.
#
# Checks: not_a_server_error, status_code_conformance, content_type_conformance,
# response_headers_conformance, response_schema_conformance, unsupported_method,
# allow_header_conformance — for generated valid and invalid requests, at most
# SCHEMATHESIS_MAX_EXAMPLES (50) per operation in the fuzzing phase. Generation is deterministic
# (the same cases every run, no example database) unless SCHEMATHESIS_SEED is set, which explores
# randomly from that seed instead. When the server has API keys, set SCHEMATHESIS_API_KEY to send
# `Authorization: Bearer <key>`.
#
# Uses the virtualenv .venv/ at the repository root (created if missing; shared with
# scripts/ci/chart-check.sh, whose pins it leaves alone); pip runs only when the pin is missing.
# Exit status: Schemathesis's (0 when every check passed), 2 for usage or setup errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
SPEC="$ROOT/openapi.yaml"
# 4.32.5 adds nothing that conflicts with helm-python-sdk / kubernetes-validate (checked with pip --dry-run).
PIN="schemathesis==4.32.5"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-50}"
CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method,allow_header_conformance"

log() { printf 'schemathesis: %s\n' "$*" >&2; }
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 1 ] || usage
START_BIN=""
TARGET=""
case "$1" in
    -h|--help) usage ;;
    --start)
        [ $# -ge 2 ] || usage
        START_BIN="$2"
        shift 2
        [ -x "$START_BIN" ] || { log "not an executable: $START_BIN"; exit 2; }
        ;;
    *)
        TARGET="$1"
        shift
        ;;
esac

# MARK: virtualenv

source "$ROOT/scripts/lib/venv.sh"
venv_require "$VENV" "$PIN"

# MARK: server

SERVER_PID=""
STATE_DIR=""
WORK_DIR=""
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            log "server did not stop within 15 s of SIGTERM; killing it"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    # A server that had to be killed left its embedded PostgreSQL running: stop that one (fast
    # shutdown), found by the pid file in our own state directory, before deleting its files.
    local postmaster="$STATE_DIR/state/postgres/data/postmaster.pid"
    if [ -n "$STATE_DIR" ] && [ -f "$postmaster" ]; then
        local pg_pid
        pg_pid="$(head -n 1 "$postmaster")"
        if [ -n "$pg_pid" ] && kill -INT "$pg_pid" 2>/dev/null; then
            for _ in $(seq 1 100); do kill -0 "$pg_pid" 2>/dev/null || break; sleep 0.1; done
        fi
    fi
    [ -n "$STATE_DIR" ] && rm -rf "$STATE_DIR"
    [ -n "$WORK_DIR" ] && rm -rf "$WORK_DIR"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$START_BIN" ]; then
    PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    STATE_DIR="$(mktemp -d /tmp/bidengine-schemathesis.XXXXXX)"
    # The embedded cluster runs as the postgres user when started by root: it must reach the directory.
    chmod 755 "$STATE_DIR"
    log "starting $START_BIN serve on 127.0.0.1:$PORT (state in $STATE_DIR, log in $STATE_DIR/server.log)"
    (cd "$ROOT" && exec env -u DATABASE_URL -u BIDENGINE_API_KEYS -u BIDENGINE_API_KEYS_FILE \
        BIDENGINE_MIGRATIONS_DIR="$ROOT/Migrations" \
        "$START_BIN" serve --host 127.0.0.1 --port "$PORT" --state-dir "$STATE_DIR/state" \
        >"$STATE_DIR/server.log" 2>&1) &
    SERVER_PID=$!
    TARGET="http://127.0.0.1:$PORT"
    ready=""
    for _ in $(seq 1 600); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "server exited before it was ready:"
            tail -n 30 "$STATE_DIR/server.log" >&2
            exit 2
        fi
        if "$VENV/bin/python" -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/readyz", timeout=1)' "$TARGET" >/dev/null 2>&1; then
            ready=1
            break
        fi
        sleep 0.1
    done
    if [ -z "$ready" ]; then
        log "server not ready after 60 s:"
        tail -n 30 "$STATE_DIR/server.log" >&2
        exit 2
    fi
fi

case "$TARGET" in
    http://*|https://*) URL="${TARGET%/}" ;;
    *[!0-9]*|"") log "expected a port or an http(s) URL, got '$TARGET'"; exit 2 ;;
    *) URL="http://127.0.0.1:$TARGET" ;;
esac

# MARK: run

AUTH=()
GENERATION=(--generation-deterministic)
if [ -n "${SCHEMATHESIS_SEED:-}" ]; then GENERATION=(--seed "$SCHEMATHESIS_SEED"); fi
if [ -n "${SCHEMATHESIS_API_KEY:-}" ]; then AUTH=(--header "Authorization: Bearer $SCHEMATHESIS_API_KEY"); fi
log "testing $URL against $SPEC"
# From a scratch directory: Hypothesis and Schemathesis leave nothing in the checkout.
WORK_DIR="$(mktemp -d /tmp/bidengine-schemathesis-run.XXXXXX)"
# The coverage phase also sends each path the methods it does not document and expects 405. QUERY
# (draft-ietf-httpbis-safe-method-w-body) is left out: libevent 2.1 does not know the method and
# answers 501 Not Implemented before routing, which is what RFC 9110 §15.6.2 prescribes for an
# unrecognised method, but not_a_server_error counts every 5xx.
cat >"$WORK_DIR/schemathesis.toml" <<'TOML'
[phases.coverage]
unexpected-methods = ["get", "put", "post", "delete", "options", "patch", "trace"]
TOML
status=0
(cd "$WORK_DIR" && "$VENV/bin/schemathesis" --config-file "$WORK_DIR/schemathesis.toml" run "$SPEC" \
    --no-color \
    --url "$URL" \
    --checks "$CHECKS" \
    --max-examples "$MAX_EXAMPLES" \
    "${GENERATION[@]}" \
    --workers 1 \
    --request-timeout 10 \
    ${AUTH[@]+"${AUTH[@]}"} \
    "$@") || status=$?
if [ "$status" -ne 0 ] && [ -n "$START_BIN" ]; then
    log "server log without access lines (tail):"
    grep -v '"type":"access"' "$STATE_DIR/server.log" | tail -n 20 >&2 || true
fi
exit "$status"
