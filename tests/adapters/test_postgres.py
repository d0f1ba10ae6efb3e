"""The PostgreSQL adapter against the rig's real PostgreSQL: idempotent DDL, errors sorted by cause, timeouts."""
from __future__ import annotations

import socket
import time
import uuid

import psycopg
import pytest

from installer.adapters import postgres
from installer.adapters.postgres import DatabaseError, connect


@pytest.fixture
def names(rig):
    suffix = uuid.uuid4().hex[:8]
    made = {"db": f"adapter_db_{suffix}", "role": f"adapter_role_{suffix}", "weak": f"adapter_weak_{suffix}"}
    yield made
    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {made['db']}")
        for role in (made["role"], made["weak"]):
            conn.execute(f"DROP ROLE IF EXISTS {role}")


def _admin(rig, timeout: float = 5):
    return connect("127.0.0.1", rig.pg_port, "postgres", rig._pg_admin_password, "postgres", "disable", timeout=timeout)


def test_objects_are_created_once_and_found(rig, names) -> None:
    with _admin(rig) as session:
        assert session.setting("server_version_num").isdigit()
        assert not session.role_exists(names["role"]) and not session.database_exists(names["db"])
        assert session.create_role(names["role"], "a-password") is True
        assert session.create_role(names["role"], "a-password") is False
        assert session.create_database(names["db"], owner=names["role"]) is True
        assert session.create_database(names["db"]) is False
        session.grant_all_on_database(names["db"], names["role"])
        assert session.role_exists(names["role"]) and session.database_exists(names["db"])
        assert session.can_create_databases()
    with connect("127.0.0.1", rig.pg_port, names["role"], "a-password", names["db"], "disable", timeout=5) as own:
        assert own.setting("statement_timeout") == "5s"
        assert not own.can_create_databases()


def test_a_missing_privilege_is_its_own_kind(rig, names) -> None:
    with _admin(rig) as session:
        session.create_role(names["weak"], "weak-password")
    with connect("127.0.0.1", rig.pg_port, names["weak"], "weak-password", "postgres", "disable", timeout=5) as weak:
        with pytest.raises(DatabaseError) as refused:
            weak.create_database(names["db"])
    assert refused.value.kind == "privilege" and "permission denied" in str(refused.value)


def test_a_statement_blocked_past_the_timeout_is_cancelled(rig, names) -> None:
    # Another session creates the role in an open transaction: our CREATE ROLE waits on its lock.
    with psycopg.connect(rig.pg_dsn_admin) as holder:
        holder.execute(f"CREATE ROLE {names['role']}")
        with _admin(rig, timeout=1) as session:
            started = time.monotonic()
            with pytest.raises(DatabaseError) as stuck:
                session.create_role(names["role"], "a-password")
            assert stuck.value.kind == "timeout" and "statement timeout" in str(stuck.value)
            assert time.monotonic() - started < 4
        holder.rollback()


def test_postgres_errors_are_sorted_by_cause(rig) -> None:
    password = rig.env["DIGIT_DB_PASSWORD"]
    with pytest.raises(postgres.DatabaseError) as wrong:
        postgres.connect("127.0.0.1", rig.pg_port, "egov", "wrong", "postgres", "disable", timeout=5)
    assert wrong.value.kind == "auth" and "wrong" not in str(wrong.value)
    with pytest.raises(postgres.DatabaseError) as missing:
        postgres.connect("127.0.0.1", rig.pg_port, "egov", password, "no_such_db", "disable", timeout=5)
    assert missing.value.kind == "no-database"
    conn = postgres.connect("127.0.0.1", rig.pg_port, "egov", password, "postgres", "disable", timeout=5)
    with conn:
        assert conn.setting("statement_timeout") == "5s"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(postgres.DatabaseError) as refused:
        postgres.tcp_reachable("127.0.0.1", closed, timeout=2)
    assert refused.value.kind == "unreachable"
