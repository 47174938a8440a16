# shellcheck shell=bash
# Sourced by scripts that run pinned Python tools: the repository's virtualenv .venv/, created
# when missing and topped up with the pins a caller asks for. Several scripts share one venv, so
# each installs only its own pins and leaves the others' alone; pip runs only when a pin is missing.
#
#   source "$ROOT/scripts/lib/venv.sh"
#   venv_require "$ROOT/.venv" tool==1.2.3 other==4.5.6     # then run "$ROOT/.venv/bin/python"
#
# Reports through the caller's `log` function; exits 2 when no venv can be made.

venv_create() {
    local venv="$1" python="${PYTHON:-python3}"
    rm -rf "$venv"
    if "$python" -m venv "$venv" >/dev/null 2>&1; then return 0; fi
    # Debian's python3 lacks ensurepip until python3-venv is installed.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "python3 -m venv failed; installing python3-venv"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$venv"
        "$python" -m venv "$venv"
    else
        log "cannot create $venv: install python3-venv (apt-get install python3-venv)"
        exit 2
    fi
}

venv_require() {
    local venv="$1"
    shift
    # A venv left half-made (no pip) by an earlier failure is rebuilt; a working one is kept.
    if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
        log "creating $venv"
        venv_create "$venv"
    fi
    if ! "$venv/bin/python" - "$@" <<'PY'
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
        log "installing $*"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    fi
}
