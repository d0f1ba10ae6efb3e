"""PostgreSQL behind a small interface: `PgSession`, and `PsycopgSession` over psycopg.

Every connection has a connect timeout and a statement timeout, so a silent server or a statement
stuck on a lock cannot stall the installer. Errors are sorted by cause (`DatabaseError.kind`) so
callers can say what to fix without parsing driver messages. Names are always quoted as
identifiers by the driver; passwords go only in `ALTER/CREATE ROLE ... PASSWORD` as the verifier
the caller computed (see deploy/database.py), never as plaintext.
"""
from __future__ import annotations

import socket
from typing import Any, Protocol

DEFAULT_TIMEOUT = 10.0
# kind: why a connection or a statement failed
KINDS = ("unreachable", "auth", "no-database", "tls", "privilege", "timeout", "other")


class DatabaseError(Exception):
    """kind: 'unreachable' (no connection, or it broke), 'auth', 'no-database', 'tls', 'privilege' (the
    role may not do this), 'timeout' (a statement ran past the statement timeout) or 'other'."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


class PgSession(Protocol):
    """One open connection (autocommit) as the installer uses it; use as a context manager.

    Every method raises DatabaseError; a statement that runs longer than the session's timeout is
    cancelled by the server and raised as kind 'timeout'.
    """

    def setting(self, name: str) -> str:
        """A run-time setting, e.g. server_version, server_version_num, statement_timeout."""
        ...

    def role_exists(self, name: str) -> bool: ...

    def database_exists(self, name: str) -> bool: ...

    def can_create_databases(self) -> bool:
        """Whether the connected role has CREATEDB or is a superuser."""
        ...

    def can_create_roles(self) -> bool:
        """Whether the connected role has CREATEROLE or is a superuser."""
        ...

    def advisory_lock(self, key: str) -> None:
        """Wait for the session-level advisory lock named `key` (released when the session closes)."""
        ...

    def create_role(self, name: str, password: str) -> bool:
        """CREATE ROLE name LOGIN PASSWORD password; False when the role exists already.

        `password` is what the server stores: pass a SCRAM verifier, not the plaintext."""
        ...

    def set_role_password(self, name: str, password: str) -> None:
        """ALTER ROLE name WITH LOGIN PASSWORD password (a SCRAM verifier, as for create_role)."""
        ...

    def create_database(self, name: str, owner: str | None = None) -> bool:
        """CREATE DATABASE (OWNER owner); False when the database exists already."""
        ...

    def grant_all_on_database(self, database: str, role: str) -> None: ...

    def grant_all_on_schema(self, schema: str, role: str) -> None:
        """GRANT ALL ON SCHEMA in the connected database (since PostgreSQL 15 `public` needs it)."""
        ...

    def flyway_failures(self) -> list[tuple[str, str, str, str]]:
        """(schema.table, version, description, script) of every failed row (success = false) of every
        Flyway history table in the current database (a table with installed_rank, script and success)."""
        ...

    def database_size(self, name: str) -> int:
        """Bytes on disk of database `name`."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> PgSession: ...

    def __exit__(self, *exc: object) -> None: ...


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


def _one_line(exc: BaseException) -> str:
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


def connect(host: str, port: int, user: str, password: str, dbname: str = "postgres", sslmode: str = "prefer",
            timeout: float = DEFAULT_TIMEOUT) -> PsycopgSession:
    """An open session; connecting and each statement give up after `timeout` seconds. Raises DatabaseError."""
    import psycopg

    try:
        conn = psycopg.connect(
            host=host, port=port, user=user, password=password, dbname=dbname, sslmode=sslmode,
            connect_timeout=max(1, round(timeout)), autocommit=True,
            options=f"-c statement_timeout={int(timeout * 1000)}",
            application_name="digit-installer",
        )
    except psycopg.Error as exc:
        message = _one_line(exc)
        raise DatabaseError(_classify(message), message) from None
    return PsycopgSession(conn)


class PsycopgSession:
    """PgSession over a psycopg connection."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def __enter__(self) -> PsycopgSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def _execute(self, statement: Any, params: tuple[Any, ...] = (), *, duplicate_ok: bool = False) -> Any:
        """Run one statement; returns the cursor, or None when duplicate_ok and the object exists already."""
        import psycopg

        try:
            return self._conn.execute(statement, params or None)
        except (psycopg.errors.DuplicateObject, psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation) as exc:
            if duplicate_ok:  # another run created it between a check and now
                return None
            raise DatabaseError("other", _one_line(exc)) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise DatabaseError("privilege", _one_line(exc)) from None
        except psycopg.errors.QueryCanceled as exc:  # statement_timeout
            raise DatabaseError("timeout", _one_line(exc)) from None
        except psycopg.OperationalError as exc:  # the connection broke or the statement timed out
            raise DatabaseError("unreachable", _one_line(exc)) from None
        except psycopg.Error as exc:
            raise DatabaseError("other", _one_line(exc)) from None

    def _exists(self, query: str, name: str) -> bool:
        return self._execute(query, (name,)).fetchone() is not None

    def setting(self, name: str) -> str:
        return str(self._execute("SELECT current_setting(%s)", (name,)).fetchone()[0])

    def role_exists(self, name: str) -> bool:
        return self._exists("SELECT 1 FROM pg_roles WHERE rolname = %s", name)

    def database_exists(self, name: str) -> bool:
        return self._exists("SELECT 1 FROM pg_database WHERE datname = %s", name)

    def can_create_databases(self) -> bool:
        createdb, superuser = self._execute(
            "SELECT rolcreatedb, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        return bool(createdb or superuser)

    def advisory_lock(self, key: str) -> None:
        self._execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))

    def can_create_roles(self) -> bool:
        createrole, superuser = self._execute(
            "SELECT rolcreaterole, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        return bool(createrole or superuser)

    def create_role(self, name: str, password: str) -> bool:
        from psycopg import sql

        statement = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))
        return self._execute(statement, duplicate_ok=True) is not None

    def set_role_password(self, name: str, password: str) -> None:
        from psycopg import sql

        self._execute(sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))

    def create_database(self, name: str, owner: str | None = None) -> bool:
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if owner:
            statement = sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner))
        return self._execute(statement, duplicate_ok=True) is not None

    def grant_all_on_database(self, database: str, role: str) -> None:
        from psycopg import sql

        self._execute(sql.SQL("GRANT ALL PRIVILEGES ON DATABASE {} TO {}").format(
            sql.Identifier(database), sql.Identifier(role)))

    def grant_all_on_schema(self, schema: str, role: str) -> None:
        from psycopg import sql

        self._execute(sql.SQL("GRANT ALL ON SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Identifier(role)))

    def flyway_failures(self) -> list[tuple[str, str, str, str]]:
        from psycopg import sql

        tables = self._execute(
            "SELECT table_schema, table_name FROM information_schema.columns "
            "WHERE column_name IN ('installed_rank', 'script', 'success') "
            "GROUP BY table_schema, table_name HAVING count(*) = 3 ORDER BY 1, 2").fetchall()
        failed = []
        for schema, table in tables:
            rows = self._execute(sql.SQL("SELECT coalesce(version, ''), coalesce(description, ''), script FROM {}.{} "
                                         "WHERE NOT success ORDER BY installed_rank").format(
                sql.Identifier(schema), sql.Identifier(table))).fetchall()
            failed += [(f"{schema}.{table}", str(v), str(d), str(s)) for v, d, s in rows]
        return failed

    def database_size(self, name: str) -> int:
        return int(self._execute("SELECT pg_database_size(%s)", (name,)).fetchone()[0])
