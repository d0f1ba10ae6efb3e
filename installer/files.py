"""Writing state files so that a crash never leaves half a file behind.

Write to a temporary sibling created with the final mode (0600 unless told
otherwise, so a secret is never readable by others even for a moment), fsync,
rename over the target, fsync the directory.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike[str], data: str | bytes, mode: int = 0o600) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


class UnreadableFile(Exception):
    """An input file that is not a regular file, too large, a symlink loop, or unreadable.

    The operator's files are trusted for their content, not for their type: a device
    (/dev/zero) would be read until memory runs out and a FIFO would block forever.
    """


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most `limit` bytes of a regular file; anything else raises UnreadableFile with a plain reason."""
    import errno
    import stat

    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before we can see it is one.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UnreadableFile("no such file") from None
    except IsADirectoryError:
        raise UnreadableFile("this is a directory, not a file") from None
    except PermissionError:
        raise UnreadableFile("permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableFile("a symlink loop (too many levels of symbolic links)") from None
        raise UnreadableFile(f"cannot be opened: {exc.strerror or exc.__class__.__name__}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UnreadableFile("this is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise UnreadableFile(f"this is {kind}, not a regular file")
        if st.st_size > limit:
            raise UnreadableFile(f"the file is {st.st_size} bytes; at most {limit} bytes are read")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise UnreadableFile(f"the file is larger than {limit} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(f"cannot be read: {exc.strerror or exc.__class__.__name__}") from None
    finally:
        os.close(fd)
