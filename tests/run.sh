#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine (as root) or a developer's.
# Installs the system packages the tests use, the Python environment, then pytest.
# Extra arguments go to pytest, e.g. tests/run.sh tests/answers -x
# Two workers by default, a test file each at a time: the suite waits on rigs more than it computes, and a
# file's rig is started once. TEST_WORKERS=0 runs in this one process (for -s, pdb and the like).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"

missing=()
while read -r package; do
    [ -n "$package" ] || continue
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done < tests/apt-packages.txt
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "tests/run.sh: missing Debian packages (${missing[*]}); run as root or install them" >&2
        exit 2
    fi
    echo "tests/run.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

DIGIT_INSTALLER_EXTRAS=test ./install.sh --setup-only
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
workers=(-n "${TEST_WORKERS:-2}")
[ "${TEST_WORKERS:-2}" = 0 ] || workers+=(--dist loadfile)
exec "$HERE/.venv/bin/python" -m pytest -p no:cacheprovider "${workers[@]}" "$@"
