"""One run per install at a time.

The lock is an flock on a file in the state dir that also names its holder
(pid, host, start time). The kernel drops an flock when its process dies, so
a lock file that still names a holder but is not flocked was left by a dead
run: it is taken over with a warning instead of blocking the operator.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCK_NAME = "install.lock"


class LockHeld(Exception):
    """Another live process holds the install lock."""

    def __init__(self, holder: dict[str, Any], path: Path) -> None:
        self.holder = holder
        self.path = path
        super().__init__(describe_holder(holder, path))


def describe_holder(holder: dict[str, Any], path: Path) -> str:
    if not holder:
        return f"another installer process holds {path}"
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)) if started else "an unknown time"
    return (f"install is locked by pid {holder.get('pid')} on {holder.get('host')} "
            f"(started {when}, command: {holder.get('command', '?')}); lock file {path}")


@dataclass
class InstallLock:
    state_dir: Path
    command: str = "install"
    _fd: int | None = None
    stale_holder: dict[str, Any] | None = None

    @property
    def path(self) -> Path:
        return Path(self.state_dir) / LOCK_NAME

    def acquire(self) -> InstallLock:
        """Take the lock or raise LockHeld; remember a stale holder in .stale_holder."""
        from installer.state import ensure_state_dir, open_state_file

        ensure_state_dir(self.path.parent)
        fd = open_state_file(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockHeld(holder, self.path) from None
        previous = _read_holder(fd)
        self.stale_holder = previous or None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(), "command": self.command}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstallLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def current_holder(state_dir: Path) -> dict[str, Any] | None:
    """The live holder of the lock, or None when no run is in progress."""
    path = Path(state_dir) / LOCK_NAME
    if not path.exists():
        return None
    from installer.state import open_state_file

    fd = open_state_file(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        return json.loads(raw.decode()) if raw.strip() else {}
    except (OSError, ValueError):
        return {}
