"""Try a login to the database server the Database page names, so a wrong host, port or password shows there."""
from __future__ import annotations

from dataclasses import dataclass

from installer.adapters.postgres import DatabaseError, connect

# how the adapter's error kinds read on the page
KIND_TEXT = {"unreachable": "refused or unreachable", "auth": "login refused (user or password)",
             "no-database": "no such database", "tls": "TLS problem", "timeout": "timed out", "other": "failed"}


@dataclass(frozen=True)
class DbProbe:
    user: str
    version: str | None = None  # the server's version when the login worked
    kind: str | None = None  # the adapter's error kind otherwise
    error: str = ""


def probe_database(host: str, port: int, user: str, password: str, sslmode: str = "prefer",
                   timeout: float = 5.0) -> DbProbe:
    """Log in to the server's `postgres` database and read its version; every failure is a DbProbe, never raised."""
    try:
        with connect(host, port, user, password, dbname="postgres", sslmode=sslmode, timeout=timeout) as session:
            return DbProbe(user, version=session.setting("server_version"))
    except DatabaseError as exc:
        kind = exc.kind
        if kind == "unreachable" and "timeout" in str(exc).lower():
            kind = "timeout"
        return DbProbe(user, kind=kind, error=str(exc))
