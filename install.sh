#!/usr/bin/env bash
# DIGIT installer. First use creates .venv beside this script (offline from
# wheelhouse/ when that folder exists), then every run starts the installer.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${DIGIT_INSTALLER_VENV:-$HERE/.venv}"
EXTRAS="${DIGIT_INSTALLER_EXTRAS:-}"          # "test" for the test suite's dependencies
PYTHON="${DIGIT_INSTALLER_PYTHON:-python3}"

say() { printf 'install.sh: %s\n' "$*" >&2; }

setup_venv() {
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        say "needs Python 3.11 or newer ($PYTHON not found); on Debian/Ubuntu: apt-get install python3 python3-venv"
        exit 2
    fi
    if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
        say "needs Python 3.11 or newer; found $("$PYTHON" --version 2>&1)"
        exit 2
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        say "setting up $VENV (first run only)"
        if ! "$PYTHON" -m venv "$VENV" >&2; then
            say "could not create a virtual environment; on Debian/Ubuntu: apt-get install python3-venv"
            exit 2
        fi
    fi
    local requirements
    requirements="$(mktemp)"
    "$VENV/bin/python" - "$HERE/pyproject.toml" "$EXTRAS" >"$requirements" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
wanted = list(project["dependencies"])
for extra in filter(None, sys.argv[2].split(",")):
    wanted += project["optional-dependencies"][extra]
print("\n".join(wanted))
PY
    local pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
    if [ -d "$HERE/wheelhouse" ]; then
        say "installing dependencies offline from $HERE/wheelhouse"
        pip+=(--no-index --find-links "$HERE/wheelhouse")
    else
        say "installing dependencies (a few minutes, once)"
    fi
    if ! "${pip[@]}" -r "$requirements" >&2; then
        rm -f "$requirements"
        say "installing dependencies failed; see the messages above"
        exit 2
    fi
    rm -f "$requirements"
    touch "$STAMP"
}

STAMP="$VENV/.digit-installer-$(cksum <"$HERE/pyproject.toml" | cut -d' ' -f1)${EXTRAS:+-$EXTRAS}"
[ -f "$STAMP" ] || setup_venv
[ "${1:-}" = "--setup-only" ] && exit 0

export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
export DIGIT_INSTALLER_SELF="$0"  # the hints name the command as it was run (installer/invocation.py)
exec "$VENV/bin/python" -P -m installer "$@"
