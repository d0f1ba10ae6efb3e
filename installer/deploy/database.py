"""Prepare an external or managed PostgreSQL for DIGIT: its database and the Flyway user, idempotently.

DIGIT's services connect as the application user and run their migrations as the Flyway user; both
need rights on the database (and, since PostgreSQL 15, on its `public` schema) or the migration init
containers fail. Every statement here is safe to run again: it checks before it creates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from installer import redact

CONNECT_TIMEOUT = 15.0  # seconds; also the statement timeout


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


def _connect(target: DatabaseTarget, dbname: str) -> Any:
    from installer.adapters.postgres import connect

    user, password = target.admin
    redact.register(password)
    return connect(target.host, target.port, user, password, dbname=dbname, sslmode=target.sslmode,
                   timeout=CONNECT_TIMEOUT)


def bootstrap_database(target: DatabaseTarget, *, dry_run: bool = False) -> BootstrapResult:
    """Create the database and the Flyway user when missing and grant what migrations need."""
    import psycopg
    from psycopg import sql

    from installer.adapters.postgres import DatabaseError

    result = BootstrapResult()
    where = f"{target.admin[0]}@{target.host}:{target.port}"
    separate_admin = target.admin[0] != target.username
    separate_flyway = bool(target.flyway_username) and target.flyway_username != target.username
    try:
        with _connect(target, target.maintenance_db) as conn:
            result.server_version = str(conn.execute("SHOW server_version").fetchone()[0])
            if separate_admin:
                redact.register(target.password)
                if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (target.username,)).fetchone():
                    result.actions.append(f"create role {target.username}")
                    if not dry_run:
                        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                            sql.Identifier(target.username), sql.Literal(target.password)))
                    result.created_user = True
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target.name,)).fetchone()
            if not exists:
                result.actions.append(f"create database {target.name}")
                if not dry_run:
                    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.name))
                    if separate_admin:
                        statement = sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(target.name), sql.Identifier(target.username))
                    conn.execute(statement)
                result.created_database = True
            if separate_flyway:
                role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                    (target.flyway_username,)).fetchone()
                if target.flyway_password is None:
                    raise DatabaseBootstrapError(
                        f"no password for the Flyway user {target.flyway_username}",
                        "set database.flyway_password in the answers file, or let the configure step generate it")
                redact.register(target.flyway_password)
                if not role:
                    result.actions.append(f"create role {target.flyway_username}")
                    if not dry_run:
                        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                            sql.Identifier(target.flyway_username), sql.Literal(target.flyway_password)))
                    result.created_flyway_user = True
                elif not dry_run and not _password_works(target, target.flyway_username, target.flyway_password):
                    result.actions.append(f"reset password of role {target.flyway_username}")
                    conn.execute(sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
                        sql.Identifier(target.flyway_username), sql.Literal(target.flyway_password)))
                    result.updated_flyway_password = True
                if not dry_run:
                    conn.execute(sql.SQL("GRANT ALL PRIVILEGES ON DATABASE {} TO {}").format(
                        sql.Identifier(target.name), sql.Identifier(target.flyway_username)))
        if separate_flyway and not dry_run:
            with _connect(target, target.name) as conn:
                conn.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(
                    sql.Identifier(target.flyway_username)))
    except DatabaseBootstrapError:
        raise
    except (DatabaseError, psycopg.OperationalError) as error:
        raise DatabaseBootstrapError(
            f"cannot connect to PostgreSQL as {where}: {_first_line(error)}",
            "check database.host/port, that the server accepts connections from this machine, and the "
            "username/password in the answers file") from None
    except psycopg.errors.InsufficientPrivilege as error:
        raise DatabaseBootstrapError(
            f"{where} lacks a privilege the bootstrap needs: {_first_line(error)}",
            f"grant CREATEDB and CREATEROLE to {target.admin[0]} (or set database.admin_username), or create database {target.name} and the "
            f"Flyway user {target.flyway_username} by hand") from None
    except psycopg.Error as error:
        raise DatabaseBootstrapError(f"preparing database {target.name} on {where} failed: {_first_line(error)}",
                                     "see the PostgreSQL server log") from None
    return result


def _password_works(target: DatabaseTarget, user: str, password: str) -> bool:
    from installer.adapters.postgres import DatabaseError, connect

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
