"""DB bootstrap against the rig's real PostgreSQL (scram-sha-256 passwords, a CREATEDB/CREATEROLE user)."""

from __future__ import annotations

import secrets

import psycopg
import pytest

from installer import redact
from installer.deploy.database import DatabaseBootstrapError, DatabaseTarget, bootstrap_database


@pytest.fixture
def scratch(rig):
    """Names of this test's own database and roles, dropped afterwards."""
    tag = secrets.token_hex(3)
    names = {"db": f"egov_{tag}", "flyway": f"flyway_{tag}", "app": f"app_{tag}"}
    yield names
    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {names['db']}")
        for role in (names["flyway"], names["app"]):
            conn.execute(f"DROP ROLE IF EXISTS {role}")


def _target(rig, scratch, **changes) -> DatabaseTarget:
    fields = {"host": "127.0.0.1", "port": rig.pg_port, "name": scratch["db"], "username": "egov",
              "password": rig.env["DIGIT_DB_PASSWORD"], "flyway_username": scratch["flyway"],
              "flyway_password": "flyway-" + secrets.token_hex(8), "sslmode": "disable"}
    fields.update(changes)
    return DatabaseTarget(**fields)


def test_creates_database_and_flyway_user_once(rig, scratch) -> None:
    target = _target(rig, scratch)
    preview = bootstrap_database(target, dry_run=True)
    assert preview.actions == [f"create database {scratch['db']}", f"create role {scratch['flyway']}"]
    with psycopg.connect(rig.pg_dsn_admin) as conn:  # a dry run changes nothing
        assert not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (scratch["db"],)).fetchone()

    first = bootstrap_database(target)
    assert first.created_database and first.created_flyway_user and first.server_version.startswith("15")
    again = bootstrap_database(target)
    assert again.actions == [] and not again.created_database and not again.created_flyway_user

    # Flyway's user can run a migration in the new database's public schema (PostgreSQL 15 rules).
    with psycopg.connect(host="127.0.0.1", port=rig.pg_port, dbname=scratch["db"], user=scratch["flyway"],
                         password=target.flyway_password, connect_timeout=5, autocommit=True) as conn:
        conn.execute("CREATE TABLE flyway_schema_history (installed_rank int)")

    # A changed Flyway password in the answers is applied, not ignored.
    changed = _target(rig, scratch, flyway_password="rotated-" + secrets.token_hex(8))
    assert bootstrap_database(changed).updated_flyway_password
    psycopg.connect(host="127.0.0.1", port=rig.pg_port, dbname=scratch["db"], user=scratch["flyway"],
                    password=changed.flyway_password, connect_timeout=5).close()


def test_admin_creates_missing_application_user(rig, scratch) -> None:
    admin_password = rig.pg_dsn_admin.split("password=")[1].split()[0]
    target = _target(rig, scratch, username=scratch["app"], password="app-" + secrets.token_hex(8),
                     admin_username="postgres", admin_password=admin_password)
    result = bootstrap_database(target)
    assert result.created_user and result.created_database
    with psycopg.connect(rig.pg_dsn_admin) as conn:
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                             (scratch["db"],)).fetchone()[0]
    assert owner == scratch["app"]
    assert bootstrap_database(target).actions == []


def test_wrong_password_is_a_clear_error_without_the_password(rig, scratch) -> None:
    wrong = "not-the-password-" + secrets.token_hex(6)
    with pytest.raises(DatabaseBootstrapError) as caught:
        bootstrap_database(_target(rig, scratch, password=wrong))
    message = str(caught.value)
    assert f"cannot connect to PostgreSQL as egov@127.0.0.1:{rig.pg_port}" in message
    assert "password authentication failed" in message
    assert wrong not in message and wrong not in caught.value.remediation
    assert redact.mask(wrong) == redact.MASK


def test_missing_privilege_names_what_to_grant(rig, scratch) -> None:
    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {scratch['app']} LOGIN PASSWORD 'plain-app-pw'")
    with pytest.raises(DatabaseBootstrapError) as caught:
        bootstrap_database(_target(rig, scratch, username=scratch["app"], password="plain-app-pw"))
    assert "permission denied to create database" in str(caught.value)
    assert f"grant CREATEDB and CREATEROLE to {scratch['app']}" in caught.value.remediation


def test_unreachable_server_fails_within_the_timeout(rig, scratch) -> None:
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(DatabaseBootstrapError, match="cannot connect"):
        bootstrap_database(_target(rig, scratch, port=port))
    assert time.monotonic() - started < 15
