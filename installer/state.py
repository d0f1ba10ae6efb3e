"""Where an install keeps its state: journal, lock, logs, copied answers."""
from __future__ import annotations

import os
from pathlib import Path

APP_DIR_NAME = "digit-installer"


def state_root() -> Path:
    """The XDG state home, so several installs on one machine live side by side."""
    base = os.environ.get("XDG_STATE_HOME")
    if base:
        return Path(base) / APP_DIR_NAME
    return Path.home() / ".local" / "state" / APP_DIR_NAME


def state_dir_for(name: str | None, override: str | os.PathLike | None = None) -> Path:
    """The state directory of one install: --state-dir wins, else one per install name."""
    if override:
        return Path(override).expanduser().resolve()
    if not name:
        raise ValueError("an install name or an explicit state directory is needed")
    return state_root() / name


def ensure_state_dir(path: Path) -> Path:
    """Create the state directory private to the operator (it may hold generated secrets)."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except PermissionError:
        pass
    return path
