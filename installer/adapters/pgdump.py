"""PostgreSQL's own client programs for backups: pg_dump -Fc, pg_restore -l, pg_restore into a database.

The password reaches them through a 0600 passfile named by PGPASSFILE in their environment, never
on a command line; the environment is otherwise only PATH and locale. Each call has a timeout and
raises DumpError with the program's last lines. The binaries come from Debian's postgresql-client
(the newest /usr/lib/postgresql/<major>/bin wins: a dump needs a client at least as new as the server).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


class DumpError(Exception):
    pass


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str
    sslmode: str = "prefer"


def _program(name: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if versions:
        return str(versions[-1])
    found = shutil.which(name)
    if not found:
        raise DumpError(f"{name} is not installed (Debian package postgresql-client)")
    return found


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:")


def _run(argv: list[str], conn: Connection | None, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    with tempfile.TemporaryDirectory(prefix="digit-pg-") as tmp:
        if conn is not None:
            passfile = Path(tmp) / "pgpass"
            fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{_escape(conn.host)}:{conn.port}:*:{_escape(conn.user)}:{_escape(conn.password)}\n")
            env.update(PGPASSFILE=str(passfile), PGSSLMODE=conn.sslmode, PGCONNECT_TIMEOUT="10")
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise DumpError(f"{Path(argv[0]).name} did not finish within {timeout:.0f}s") from None
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-3:])
        raise DumpError(f"{Path(argv[0]).name} failed ({done.returncode}): {tail}")
    return done


def _where(conn: Connection) -> list[str]:
    return ["-h", conn.host, "-p", str(conn.port), "-U", conn.user, "-w"]


def dump(conn: Connection, out: Path, timeout: float = 3600) -> None:
    """pg_dump in custom format (-Fc) of conn.dbname into `out` (made 0600)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    _run([_program("pg_dump"), "-Fc", "-f", str(partial), *_where(conn), "-d", conn.dbname], conn, timeout)
    os.replace(partial, out)


def contents(path: Path, timeout: float = 600) -> list[str]:
    """`pg_restore -l`: the archive's table of contents, one entry a line (comments left out)."""
    done = _run([_program("pg_restore"), "-l", str(path)], None, timeout)
    return [line for line in done.stdout.splitlines() if line.strip() and not line.startswith(";")]


def restore(path: Path, conn: Connection, timeout: float = 3600) -> None:
    """pg_restore of the archive into conn.dbname (an empty database the caller made)."""
    _run([_program("pg_restore"), "--no-owner", "--exit-on-error", *_where(conn), "-d", conn.dbname, str(path)],
         conn, timeout)
