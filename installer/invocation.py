"""The command the operator ran, so every hint names one that works from where they are.

`install.sh` exports the path it was run by (DIGIT_INSTALLER_SELF, as typed: `./install.sh`,
`../digit-installer/install.sh`, `/opt/digit/installer/install.sh`). A hint printed to someone who ran
`/opt/digit/installer/install.sh` from their site folder must not say `./install.sh`, which is not there.
"""
from __future__ import annotations

import os
import shlex
from pathlib import Path

SELF_ENV = "DIGIT_INSTALLER_SELF"


def install_sh() -> str:
    """`./install.sh` when run from its own folder (or not through install.sh at all), else the path it was
    run by, quoted for a shell."""
    given = os.environ.get(SELF_ENV, "")
    if not given or "/" not in given:
        return "./install.sh"
    try:
        if Path(given).resolve() == (Path.cwd() / "install.sh").resolve():
            return "./install.sh"
    except OSError:
        pass
    return shlex.quote(given)
