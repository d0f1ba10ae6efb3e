"""PostgreSQL connections (psycopg) with a connect and statement timeout, and errors sorted by cause."""
from __future__ import annotations

import socket
from typing import Any

DEFAULT_TIMEOUT = 10.0


class DatabaseError(Exception):
    """kind: 'unreachable', 'auth', 'no-database', 'tls' or 'other'."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def tcp_reachable(host: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Raises DatabaseError('unreachable') unless a TCP connection opens within `timeout`."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        raise DatabaseError("unreachable", f"cannot open TCP {host}:{port}: {exc.strerror or exc}") from None


def _classify(message: str) -> str:
    text = message.lower()
    if "password authentication failed" in text or "no pg_hba.conf entry" in text or "authentication failed" in text:
        return "auth"
    if "does not exist" in text and "database" in text:
        return "no-database"
    if "ssl" in text and ("not support" in text or "certificate" in text):
        return "tls"
    if "timeout" in text or "refused" in text or "could not connect" in text or "no route" in text:
        return "unreachable"
    return "other"


def connect(host: str, port: int, user: str, password: str, dbname: str = "postgres", sslmode: str = "prefer",
            timeout: float = DEFAULT_TIMEOUT) -> Any:
    """An open autocommit psycopg connection; statements time out after `timeout` seconds."""
    import psycopg

    try:
        return psycopg.connect(
            host=host, port=port, user=user, password=password, dbname=dbname, sslmode=sslmode,
            connect_timeout=max(1, int(round(timeout))), autocommit=True,
            options=f"-c statement_timeout={int(timeout * 1000)}",
            application_name="digit-installer",
        )
    except psycopg.Error as exc:
        message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
        raise DatabaseError(_classify(message), message) from None
