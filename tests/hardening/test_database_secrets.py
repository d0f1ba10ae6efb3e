"""The database step never sends a password the server could log, and creating things is race-free.

Against the rig's real PostgreSQL with `log_statement = all`: every statement the
bootstrap sends lands in the server log, so a canary password there is a leak.
"""
from __future__ import annotations

import json
import secrets
import threading

import psycopg
import pytest

from installer.deploy.database import DatabaseTarget, bootstrap_database, scram_verifier


@pytest.fixture
def logged_rig(rig):
    """The shared rig's PostgreSQL logging every statement, restored afterwards."""
    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        conn.execute("SELECT pg_reload_conf()")
    log = rig.runtime / "pg" / "postgres.log"
    start = log.stat().st_size
    yield rig, lambda: log.read_bytes()[start:].decode("utf-8", "replace")
    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM RESET log_statement")
        conn.execute("SELECT pg_reload_conf()")


@pytest.fixture
def names(rig):
    tag = secrets.token_hex(3)
    found = {"db": f"egov_{tag}", "flyway": f"flyway_{tag}", "app": f"app_{tag}", "weak": f"weak_{tag}"}
    yield found
    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {found['db']}")
        for role in ("flyway", "app", "weak"):
            conn.execute(f"DROP ROLE IF EXISTS {found[role]}")


def admin_password(rig) -> str:
    return rig.pg_dsn_admin.split("password=")[1].split()[0]


def test_passwords_never_reach_the_server_log(logged_rig, names):
    rig, server_log = logged_rig
    app_canary = "canary-app-" + secrets.token_hex(8)
    flyway_canary = "canary-flyway-" + secrets.token_hex(8)
    target = DatabaseTarget(host="127.0.0.1", port=rig.pg_port, name=names["db"], username=names["app"],
                            password=app_canary, flyway_username=names["flyway"], flyway_password=flyway_canary,
                            sslmode="disable", admin_username="postgres", admin_password=admin_password(rig))
    result = bootstrap_database(target)
    assert result.created_user and result.created_flyway_user and result.created_database
    # The roles log in with their passwords: the verifiers are right.
    for user, password in ((names["app"], app_canary), (names["flyway"], flyway_canary)):
        psycopg.connect(host="127.0.0.1", port=rig.pg_port, dbname=names["db"], user=user, password=password,
                        connect_timeout=5).close()
    # A rotated Flyway password is applied the same way.
    rotated = "canary-rotated-" + secrets.token_hex(8)
    assert bootstrap_database(DatabaseTarget(**{**target.__dict__, "flyway_password": rotated})).updated_flyway_password
    text = server_log()
    assert "CREATE ROLE" in text and "SCRAM-SHA-256$4096:" in text, "the statements were not logged at all"
    for canary in (app_canary, flyway_canary, rotated):
        assert canary not in text


def test_a_failing_create_role_logs_no_password(logged_rig, names):
    """An admin without CREATEROLE: the server logs the failing statement, which must hold no password."""
    rig, server_log = logged_rig
    weak_password = "weak-" + secrets.token_hex(8)
    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {names['weak']} LOGIN CREATEDB PASSWORD '{weak_password}'")
    canary = "canary-denied-" + secrets.token_hex(8)
    target = DatabaseTarget(host="127.0.0.1", port=rig.pg_port, name=names["db"], username=names["app"],
                            password=canary, flyway_username="", flyway_password=None, sslmode="disable",
                            admin_username=names["weak"], admin_password=weak_password)
    with pytest.raises(Exception, match="lacks a privilege"):
        bootstrap_database(target)
    text = server_log()
    assert "permission denied to create role" in text
    assert canary not in text


def test_verifier_matches_postgres_for_non_ascii_passwords(rig, names):
    password = "pässwörd-ﬁ-\u00a0-" + secrets.token_hex(4)
    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {names['app']} LOGIN PASSWORD '{scram_verifier(password)}'")
    psycopg.connect(host="127.0.0.1", port=rig.pg_port, dbname="postgres", user=names["app"], password=password,
                    connect_timeout=5).close()


def test_two_runs_creating_the_same_database_at_once_both_succeed(rig, names):
    """Two jump hosts bootstrapping at the same moment: check-then-create must not fail the slower one."""
    target = DatabaseTarget(host="127.0.0.1", port=rig.pg_port, name=names["db"], username=names["app"],
                            password="canary-race-" + secrets.token_hex(6), flyway_username=names["flyway"],
                            flyway_password="canary-race-fw-" + secrets.token_hex(6), sslmode="disable",
                            admin_username="postgres", admin_password=admin_password(rig))
    for _ in range(3):
        with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {names['db']}")
            conn.execute(f"DROP ROLE IF EXISTS {names['flyway']}")
            conn.execute(f"DROP ROLE IF EXISTS {names['app']}")
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def one() -> None:  # the threads are joined within this iteration
            barrier.wait()  # noqa: B023
            try:
                bootstrap_database(target)
            except BaseException as exc:
                errors.append(exc)  # noqa: B023

        threads = [threading.Thread(target=one) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []


def test_preflight_with_an_admin_login_says_the_user_will_be_created(rig, names):
    """The application user does not exist yet: preflight must not block the step that creates it."""
    from tests.preflight.helpers import edited_answers, run_inprocess

    canary = "canary-new-user-" + secrets.token_hex(6)

    def new_user(data) -> None:
        db = data["database"]
        db["username"], db["name"] = names["app"], names["db"]
        db["password"] = {"env": "HARDEN_APP_PASSWORD"}
        db["admin_username"], db["admin_password"] = "postgres", {"env": "HARDEN_ADMIN_PASSWORD"}

    answers = edited_answers(rig, "answers-new-user.yaml", new_user)
    env = {"HARDEN_APP_PASSWORD": canary, "HARDEN_ADMIN_PASSWORD": admin_password(rig)}
    code, report, _, _ = run_inprocess(rig, "--only", "database", answers=answers, env=env)
    checks = {c["id"]: c for c in report["checks"]}
    assert code == 0, report
    assert checks["db.auth"]["measured"] == f"{names['app']} will be created by postgres (admin login works)"
    assert checks["db.database"]["measured"] == f"{names['db']} will be created by postgres"
    assert checks["db.version"]["status"] == "pass"
    assert canary not in json.dumps(report)

    # Once the role exists with another password, its failing login is reported, not excused.
    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {names['app']} LOGIN PASSWORD '{scram_verifier('something-else-1')}'")
    code, report, _, _ = run_inprocess(rig, "--only", "database", answers=answers, env=env)
    assert code == 1 and {c["id"]: c for c in report["checks"]}["db.auth"]["status"] == "fail"

    # Without the admin login the missing user fails, as before.
    def no_admin(data) -> None:
        new_user(data)
        data["database"].pop("admin_username")
        data["database"].pop("admin_password")

    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
        conn.execute(f"DROP ROLE {names['app']}")
    plain = edited_answers(rig, "answers-no-admin.yaml", no_admin)
    code, report, _, _ = run_inprocess(rig, "--only", "database", answers=plain, env=env)
    assert code == 1
