#!/usr/bin/env bash
# The chart's alert rules and Grafana dashboard: promtool checks and unit tests, then a live
# Prometheus scraping a real `bidengine serve` and `bidengine schedule` through a database outage.
#
#   bash scripts/ci/monitoring-check.sh [--rules-only] [--binary PATH] [--keep DIR]
#
# Needs promtool and prometheus (Debian's prometheus package: make test-deps) and, for the live
# part, a built binary (default .build/debug/bidengine: make build). Python tools come from the
# repository's .venv/ (scripts/lib/venv.sh). The checks are in scripts/ci/monitoring_check.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
# helm-python-sdk renders the chart without a helm binary (pinned as in scripts/ci/chart-check.sh);
# PyYAML reads the rendered rules (chart-check installs it only as a dependency of its own tools).
PINS=(helm-python-sdk==0.2.2 PyYAML==6.0.3)

log() { printf 'monitoring-check: %s\n' "$*" >&2; }

source "$ROOT/scripts/lib/venv.sh"
venv_require "$VENV" "${PINS[@]}"

PYTHONPATH="$ROOT" PYTHONDONTWRITEBYTECODE=1 exec "$VENV/bin/python" -m scripts.ci.monitoring_check "$@"
