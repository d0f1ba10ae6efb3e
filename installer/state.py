"""Where an install keeps its state: journal, lock, logs, copied answers, generated secrets.

Other users of the jump host are not trusted. A state directory (or a file in
it) that another user owns or may write could plant values the installer would
take for its own (generated secrets) or redirect its writes (a symlink named
like a state file), so such a directory is refused, state files are opened
without following symlinks, and secret files are kept 0600.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

APP_DIR_NAME = "digit-installer"


def state_root() -> Path:
    """The XDG state home, so several installs on one machine live side by side."""
    base = os.environ.get("XDG_STATE_HOME")
    if base:
        return Path(base) / APP_DIR_NAME
    return Path.home() / ".local" / "state" / APP_DIR_NAME


def state_dir_for(name: str | None, override: str | os.PathLike[str] | None = None) -> Path:
    """The state directory of one install: --state-dir wins, else one per install name."""
    if override:
        return Path(override).expanduser().resolve()
    if not name:
        raise ValueError("an install name or an explicit state directory is needed")
    return state_root() / name


class UnsafeStateError(Exception):
    """The state directory or a file in it could have been planted or redirected by someone else."""


def _owner_problem(st: os.stat_result) -> str | None:
    if st.st_uid != os.geteuid():
        return f"is owned by uid {st.st_uid}, not by you (uid {os.geteuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"is writable by others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def check_state_dir(path: Path) -> Path:
    """Refuse a state directory someone else owns or may write; make it 0700."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return path
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeStateError(f"state directory {path} is not a directory")
    problem = _owner_problem(st)
    if problem:
        raise UnsafeStateError(f"state directory {path} {problem}; refusing to use it "
                               f"(use a directory of your own with --state-dir)")
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def ensure_state_dir(path: Path) -> Path:
    """Create the state directory private to the operator (it may hold generated secrets).

    The last component is created with mkdir's own exclusivity (mode 0700 from the start);
    an existing one must be the caller's and not writable by others.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    return check_state_dir(path)


def ensure_private_dir(path: Path) -> Path:
    """A sub-directory of the state directory (logs, reports): a real directory of ours, 0700."""
    path = Path(path)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafeStateError(f"{path} is not a directory (a symlink or another file); refusing to write into it")
    problem = _owner_problem(st)
    if problem:
        raise UnsafeStateError(f"{path} {problem}; refusing to write into it")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def check_state_file(fd: int, path: Path) -> os.stat_result:
    """An opened state file must be a regular file of ours that others cannot write."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeStateError(f"{path} is not a regular file; refusing to use it")
    problem = _owner_problem(st)
    if problem:
        raise UnsafeStateError(f"{path} {problem}; refusing to use it")
    return st


def open_state_file(path: Path, flags: int, mode: int = 0o600) -> int:
    """os.open without following a symlink, checked to be our own regular file."""
    path = Path(path)
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeStateError(f"{path} is a symlink; refusing to follow it") from None
        raise
    try:
        check_state_file(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_private(path: Path) -> bytes | None:
    """A secret state file's bytes (None when absent), made 0600 if it was readable by others."""
    try:
        fd = open_state_file(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, 0o600)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# What a run keeps in the state directory: logs, journal, the plan with every rendered manifest, reports.
STATE_SPACE_NEEDED = 100 * 1024 * 1024


class StateDiskFull(Exception):
    """The filesystem under the state directory is full: a clean failure, never a traceback."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        free = free_bytes(self.state_dir)
        have = f"{free / 1024 / 1024:.1f} MB free" if free is not None else "no space left"
        super().__init__(f"no space left on the filesystem of the state directory {self.state_dir} ({have}; a run "
                         f"needs at least {STATE_SPACE_NEEDED // (1024 * 1024)} MB): free some space there or use "
                         f"--state-dir on a larger filesystem, then rerun with --resume")


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def free_bytes(path: Path) -> int | None:
    """Free bytes for an unprivileged writer on the filesystem of `path` (or its nearest existing parent)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize
