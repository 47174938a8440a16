#!/usr/bin/env bash
# Lints, renders and validates chart/ offline: no helm binary, no cluster, no Docker.
#
#   bash scripts/chart-check.sh [--out DIR] [--chart DIR]   # --out keeps the rendered manifests
#
# Uses the virtualenv .venv/ at the repository root (created if missing) with the pinned tools
# below; pip runs only when a pin is missing, so a second run is quick. Exit status 0 when every
# check passed, non-zero otherwise. The checks themselves are in scripts/chart_check.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
# helm-python-sdk 0.2.2 embeds the Helm v4.2.3 Go SDK; kubernetes-validate 1.37.0 ships the
# Kubernetes 1.25-1.37 schemas.
PINS=(helm-python-sdk==0.2.2 kubernetes-validate==1.37.0)

log() { printf 'chart-check: %s\n' "$*" >&2; }

make_venv() {
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian's python3 lacks ensurepip until python3-venv is installed.
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            log "python3 -m venv failed; installing python3-venv"
            DEBIAN_FRONTEND=noninteractive apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            rm -rf "$VENV"
            "$PYTHON" -m venv "$VENV"
        else
            log "cannot create $VENV: install python3-venv (apt-get install python3-venv)"
            exit 2
        fi
    fi
}

# A venv left half-made (no pip) by an earlier failure is rebuilt.
if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    log "creating $VENV"
    make_venv
fi

if ! "$VENV/bin/python" - "${PINS[@]}" <<'PY'
import importlib.metadata as metadata, sys
for pin in sys.argv[1:]:
    name, version = pin.split("==")
    try:
        if metadata.version(name) != version:
            sys.exit(1)
    except metadata.PackageNotFoundError:
        sys.exit(1)
PY
then
    log "installing ${PINS[*]}"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
fi

exec "$VENV/bin/python" "$ROOT/scripts/chart_check.py" "$@"
