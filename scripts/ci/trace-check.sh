#!/usr/bin/env bash
# Traces end to end: a real `bidengine serve` exports to an OTLP/HTTP receiver on loopback whose
# bodies are decoded as `ExportTraceServiceRequest` by opentelemetry-proto; the spans, the access
# log and Server-Timing are checked against the requests sent; then `bidengine audit`, `maintain`,
# `poll` and `schedule` export the traces of their steps and pages to the same receiver
# (scripts/ci/trace_check.py and trace_check_jobs.py say what).
#
#   bash scripts/ci/trace-check.sh [--binary PATH]
#
# Needs a built binary (default .build/debug/bidengine: make build). Python tools come from the
# repository's .venv/ (scripts/lib/venv.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
PINS=(opentelemetry-proto==1.45.2)

log() { printf 'trace-check: %s\n' "$*" >&2; }

source "$ROOT/scripts/lib/venv.sh"
venv_require "$VENV" "${PINS[@]}"

PYTHONPATH="$ROOT" PYTHONDONTWRITEBYTECODE=1 exec "$VENV/bin/python" -m scripts.ci.trace_check "$@"
