"""Prepare an external or managed PostgreSQL for DIGIT: its database and the Flyway user, idempotently.

DIGIT's services connect as the application user and run their migrations as the Flyway user; both
need rights on the database (and, since PostgreSQL 15, on its `public` schema) or the migration init
containers fail. Every statement here is safe to run again: it checks before it creates.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stringprep
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from installer import redact
from installer.adapters.postgres import DatabaseError, PgSession

CONNECT_TIMEOUT = 15.0  # seconds; also the statement timeout
SCRAM_ITERATIONS = 4096  # PostgreSQL's own default (scram_iterations)


def _saslprep(password: str) -> str:
    """RFC 4013 SASLprep as PostgreSQL applies it; a password it prohibits is used as is, as the server does."""
    if all(" " <= ch <= "~" for ch in password):
        return password
    mapped = "".join(" " if stringprep.in_table_c12(ch) else ch for ch in password if not stringprep.in_table_b1(ch))
    text = unicodedata.normalize("NFKC", mapped)
    prohibited = (stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3, stringprep.in_table_c4,
                  stringprep.in_table_c5, stringprep.in_table_c6, stringprep.in_table_c7, stringprep.in_table_c8,
                  stringprep.in_table_c9, stringprep.in_table_a1)
    if any(check(ch) for ch in text for check in prohibited):
        return password
    if any(stringprep.in_table_d1(ch) for ch in text) and (
            any(stringprep.in_table_d2(ch) for ch in text)
            or not (stringprep.in_table_d1(text[0]) and stringprep.in_table_d1(text[-1]))):
        return password
    return text


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802 / RFC 7677).

    Roles are created with this instead of the password, so the password never travels in a
    statement the server could log (log_statement = ddl, or a statement that fails).
    """
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", _saslprep(password).encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


class DatabaseBootstrapError(Exception):
    """The database could not be prepared; the message says what to fix."""

    def __init__(self, message: str, remediation: str = ""):
        super().__init__(redact.mask(message))
        self.remediation = remediation


@dataclass(frozen=True)
class DatabaseTarget:
    host: str
    port: int
    name: str
    username: str
    password: str
    flyway_username: str
    flyway_password: str | None
    sslmode: str = "prefer"
    admin_username: str | None = None
    admin_password: str | None = None
    maintenance_db: str = "postgres"

    @property
    def admin(self) -> tuple[str, str]:
        """Who creates things: the admin user when one is given, else the application user."""
        if self.admin_username:
            return self.admin_username, self.admin_password or ""
        return self.username, self.password


@dataclass
class BootstrapResult:
    created_database: bool = False
    created_user: bool = False
    created_flyway_user: bool = False
    updated_flyway_password: bool = False
    server_version: str = ""
    actions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"created_database": self.created_database, "created_user": self.created_user,
                "created_flyway_user": self.created_flyway_user,
                "updated_flyway_password": self.updated_flyway_password, "server_version": self.server_version,
                "actions": list(self.actions)}


def _connect(target: DatabaseTarget, dbname: str) -> PgSession:
    from installer.adapters.postgres import connect

    user, password = target.admin
    redact.register(password)
    return connect(target.host, target.port, user, password, dbname=dbname, sslmode=target.sslmode,
                   timeout=CONNECT_TIMEOUT)


def bootstrap_database(target: DatabaseTarget, *, dry_run: bool = False) -> BootstrapResult:
    """Create the database and the Flyway user when missing and grant what migrations need.

    A database or role another run created between the check and the statement counts as created.
    """
    result = BootstrapResult()
    where = f"{target.admin[0]}@{target.host}:{target.port}"
    separate_admin = target.admin[0] != target.username
    separate_flyway = bool(target.flyway_username) and target.flyway_username != target.username
    try:
        with _connect(target, target.maintenance_db) as session:
            # Two jump hosts bootstrapping at once would race between check and create, and
            # concurrent GRANTs on one database fail with "tuple concurrently updated": one
            # session-level advisory lock per database name serialises them (released on close).
            session.advisory_lock(f"digit-installer/bootstrap/{target.name}")
            result.server_version = session.setting("server_version")
            if separate_admin:
                redact.register(target.password)
                if not session.role_exists(target.username):
                    result.actions.append(f"create role {target.username}")
                    if not dry_run:
                        session.create_role(target.username, scram_verifier(target.password))
                    result.created_user = True
            if not session.database_exists(target.name):
                result.actions.append(f"create database {target.name}")
                if not dry_run:
                    session.create_database(target.name, owner=target.username if separate_admin else None)
                result.created_database = True
            if separate_flyway:
                role = session.role_exists(target.flyway_username)
                if target.flyway_password is None:
                    raise DatabaseBootstrapError(
                        f"no password for the Flyway user {target.flyway_username}",
                        "set database.flyway_password in the answers file, or let the configure step generate it")
                redact.register(target.flyway_password)
                if not role:
                    result.actions.append(f"create role {target.flyway_username}")
                    if not dry_run:
                        session.create_role(target.flyway_username, scram_verifier(target.flyway_password))
                    result.created_flyway_user = True
                elif not dry_run and not _password_works(target, target.flyway_username, target.flyway_password):
                    result.actions.append(f"reset password of role {target.flyway_username}")
                    session.set_role_password(target.flyway_username, scram_verifier(target.flyway_password))
                    result.updated_flyway_password = True
                if not dry_run:
                    session.grant_all_on_database(target.name, target.flyway_username)
            if separate_flyway and not dry_run:  # still under the lock
                with _connect(target, target.name) as in_database:
                    in_database.grant_all_on_schema("public", target.flyway_username)
    except DatabaseError as error:
        if error.kind == "privilege":
            raise DatabaseBootstrapError(
                f"{where} lacks a privilege the bootstrap needs: {_first_line(error)}",
                f"grant CREATEDB and CREATEROLE to {target.admin[0]} (or set database.admin_username), or create "
                f"database {target.name} and the Flyway user {target.flyway_username} by hand") from None
        if error.kind in ("timeout", "other"):
            raise DatabaseBootstrapError(f"preparing database {target.name} on {where} failed: {_first_line(error)}",
                                         "see the PostgreSQL server log") from None
        raise DatabaseBootstrapError(
            f"cannot connect to PostgreSQL as {where}: {_first_line(error)}",
            "check database.host/port, that the server accepts connections from this machine, and the "
            "username/password in the answers file") from None
    return result


def _password_works(target: DatabaseTarget, user: str, password: str) -> bool:
    from installer.adapters.postgres import connect

    try:
        connect(target.host, target.port, user, password, dbname=target.name, sslmode=target.sslmode,
                timeout=CONNECT_TIMEOUT).close()
        return True
    except DatabaseError as error:
        if error.kind == "auth":
            return False
        raise


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return redact.mask(text[0] if text else type(error).__name__)
