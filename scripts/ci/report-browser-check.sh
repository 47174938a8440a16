#!/usr/bin/env bash
# The nightly audit's HTML report in headless Chromium: axe-core, page width at 375/1280 px, console,
# the run's numbers in cards and charts, print layout; optionally the README's screenshot.
#
#   bash scripts/ci/report-browser-check.sh [--binary PATH] [--screenshot docs/audit-report.png] [--keep DIR]
#
# Needs Debian's chromium and chromium-driver (make test-deps) and a built binary (default
# .build/debug/bidengine: make build). selenium and axe-selenium-python (which bundles axe-core)
# come from the repository's .venv/ (scripts/lib/venv.sh); nothing is downloaded at run time.
# The checks are in scripts/ci/report_browser_check.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
# selenium 4.53 needs a certifi newer than the package index here has; 4.48.0 is the newest that installs.
PINS=(selenium==4.48.0 axe-selenium-python==2.1.6)

log() { printf 'report-browser-check: %s\n' "$*" >&2; }

source "$ROOT/scripts/lib/venv.sh"
venv_require "$VENV" "${PINS[@]}"

PYTHONPATH="$ROOT" PYTHONDONTWRITEBYTECODE=1 exec "$VENV/bin/python" -m scripts.ci.report_browser_check "$@"
