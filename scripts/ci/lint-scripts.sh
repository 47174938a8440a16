#!/usr/bin/env bash
# The Python and shell linters of `make lint`: ruff with its default rule set (ruff.toml) over the
# Python in scripts/ and legacy/, and shellcheck at its default severity (.shellcheckrc) over
# every shell script. Exits non-zero naming each finding.
#
#   bash scripts/ci/lint-scripts.sh
#
# ruff is pinned below and installed into .venv/ when missing (pip runs only then); shellcheck
# comes from Debian (`make lint` installs it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
PINS=(ruff==0.17.5)

log() { printf 'lint-scripts: %s\n' "$*" >&2; }

source "$ROOT/scripts/lib/venv.sh"
venv_require "$VENV" "${PINS[@]}"

cd "$ROOT"
mapfile -t python < <(find scripts legacy -name '*.py' -not -path '*/__pycache__/*' | sort)
mapfile -t shell < <({ find scripts legacy -name '*.sh'; echo .ci/run; } | sort)
"$VENV/bin/ruff" check --quiet "${python[@]}"
shellcheck "${shell[@]}"
echo "lint-scripts: ruff: ${#python[@]} Python files, shellcheck: ${#shell[@]} shell scripts, nothing found"
