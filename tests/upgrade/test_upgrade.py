"""Upgrades on a rig of their own: install digit-sample-a, plan and apply the move to digit-sample-b.

Real parts: the emulator over HTTP, the rig's PostgreSQL (Helm's sql storage), Helm's real engine.
Profiles a, b and c (tests/fixtures/upgrade/profiles) extend the sample tree's profile.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO, helm_dsn

pytestmark = pytest.mark.timeout(600)
PROFILES = REPO / "tests" / "fixtures" / "upgrade" / "profiles"


class Site:
    def __init__(self, rig, tmp_path: Path):
        self.rig = rig
        self.state = tmp_path / "state"
        self.env = {**os.environ, "HELM_DRIVER": "sql", "HELM_DRIVER_SQL_CONNECTION_STRING": helm_dsn(rig),
                    **rig.env, "DIGIT_INSTALLER_READINESS_POLL": "0.2", "PYTHONPATH": str(REPO),
                    "DIGIT_INSTALLER_PROFILE_PATH": str(PROFILES)}
        text = rig.answers_path.read_text()
        version = next(line.split(":", 1)[1].strip() for line in text.splitlines()
                       if line.startswith("  version: "))
        rig.answers_path.write_text(text.replace(f"  version: {version}", "  version: digit-sample-a"))

    def install(self, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tests.deploy.pipeline_driver", "--answers",
                               str(self.rig.answers_path), "--state-dir", str(self.state), "--output", "json", *extra],
                              cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300)

    def upgrade(self, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "installer", "upgrade", "--answers", str(self.rig.answers_path),
                               "--state-dir", str(self.state), "--output", "plain", "--yes", *extra],
                              cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300)

    def status(self) -> str:
        done = subprocess.run([sys.executable, "-m", "installer", "status", "--state-dir", str(self.state)],
                              cwd=REPO, env=self.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def plan(self) -> dict:
        return json.loads((self.state / "upgrade-plan.json").read_text())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from tests.conftest import start_rig

    rig = start_rig(tmp_path_factory, nodes=1, rollout_delay=0.2)
    one = Site(rig, tmp_path_factory.mktemp("upgrade"))
    done = one.install()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield one
    rig.down(quiet=True)


def test_plan_lists_exactly_the_differences_and_changes_nothing(site) -> None:
    journal_before = (site.state / "journal.json").read_text()
    done = site.upgrade("--to", "digit-sample-b", "--plan")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    plan = site.plan()
    assert plan["from_profile"] == "digit-sample-a" and plan["to_profile"] == "digit-sample-b"
    assert (plan["from_commit"], plan["to_commit"]) == ("aaaaaaa0001", "bbbbbbb0002")
    assert plan["added"] == ["egov-hrms"]
    assert plan["removed"] == ["egov-idgen"]
    assert plan["upgraded"] == ["egov-indexer", "egov-mdms-service", "egov-user"]
    assert plan["pins_not_rendered"] == []  # B sets every tag it pins in its release_values
    releases = {r["name"]: r for r in plan["releases"]}
    user = releases["egov-user"]
    assert {(i["repository"], i["old"].rsplit(":", 1)[1], i["new"].rsplit(":", 1)[1], i["migration"])
            for i in user["images"]} == {("egov-user", "v1.2.8-9fde481-19", "v1.2.9-aaaaaaa-20", False),
                                         ("egov-user-db", "v1.2.8-9fde481-19", "v1.2.9-aaaaaaa-20", True)}
    assert [i["repository"] for i in user["migration_images"]] == ["egov-user-db"]
    assert [i["repository"] for i in releases["egov-mdms-service"]["images"]] == ["egov-mdms-service"]
    assert releases["egov-mdms-service"]["migration_images"] == []
    indexer = releases["egov-indexer"]
    assert indexer["values_changed"] and indexer["images"] == []
    assert indexer["objects_changed"] == ["Deployment/egov/egov-indexer"]
    assert plan["needs_backup"] and "restoring the database backup" in plan["point_of_no_return"]
    for name, release in releases.items():
        assert release["immutable"] == [] and release["blocked"] == [] and release["pvc_growth"] == [], name
    assert "migration: needs the database backup first" in done.stdout
    # Nothing changed: the journal is as the install left it.
    assert (site.state / "journal.json").read_text() == journal_before


def _revisions(site) -> set[tuple[str, str, int, str]]:
    """Every revision in Helm's records (sql driver): name, namespace, version, status."""
    import psycopg

    with psycopg.connect(site.env["HELM_DRIVER_SQL_CONNECTION_STRING"], autocommit=True) as conn:
        return {tuple(row) for row in conn.execute("SELECT name, namespace, version, status FROM releases_v1")}


def test_on_a_terminal_the_plan_is_shown_before_the_question_and_no_changes_nothing(site) -> None:
    import pexpect

    revisions = _revisions(site)
    argv = [sys.executable, "-m", "installer", "upgrade", "--answers", str(site.rig.answers_path), "--state-dir",
            str(site.state), "--output", "plain", "--to", "digit-sample-b"]
    child = pexpect.spawn(argv[0], argv[1:], cwd=str(REPO), env=site.env, encoding="utf-8", timeout=120,
                          dimensions=(24, 80))
    child.expect("migration: needs the database backup first")
    child.expect(r"as planned above .*\[y/N\]")
    child.sendline("n")
    child.expect("Not confirmed: nothing was changed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert _revisions(site) == revisions
    assert "version: digit-sample-a" in site.rig.answers_path.read_text()


def test_volume_claim_template_change_is_flagged(site) -> None:
    done = site.upgrade("--to", "digit-sample-c", "--plan")
    plan = site.plan()
    elasticsearch = next(r for r in plan["releases"] if r["name"] == "elasticsearch")
    assert [f["field"] for f in elasticsearch["immutable"]] == ["spec.volumeClaimTemplates"]
    assert elasticsearch["pvc_growth"][0]["new"] == "16Gi"
    assert "IMMUTABLE StatefulSet/backbone/elasticsearch spec.volumeClaimTemplates" in done.stdout


def test_immutable_change_stops_the_upgrade_until_the_operator_chooses(site) -> None:
    done = site.upgrade("--to", "digit-sample-c")
    assert done.returncode == 1, done.stdout[-3000:]
    assert "--recreate-immutable" in done.stdout + done.stderr
    assert "Kubernetes refuses these changes in place" in done.stdout + done.stderr
    # Nothing was upgraded: elasticsearch is still at its first revision.
    again = site.upgrade("--to", "digit-sample-c", "--plan")
    assert again.returncode == 0
    assert next(r for r in site.plan()["releases"] if r["name"] == "elasticsearch")["revision"] == 1


def _digit_db(site):
    import psycopg

    from tests.rig.rig import DB_NAME

    return psycopg.connect(site.rig.pg_dsn.replace("dbname=postgres", f"dbname={DB_NAME}"), autocommit=True)


FLYWAY_TABLE = """CREATE TABLE IF NOT EXISTS {name} (installed_rank int PRIMARY KEY, version varchar(50),
    description varchar(200) NOT NULL, type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int,
    installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL,
    success boolean NOT NULL)"""


def test_a_failed_flyway_row_refuses_the_upgrade_naming_table_and_migration(site) -> None:
    with _digit_db(site) as conn:
        conn.execute(FLYWAY_TABLE.format(name="egov_user_schema"))
        conn.execute("INSERT INTO egov_user_schema VALUES (1, '1.0', 'create user', 'SQL', "
                     "'V1.0__create_user.sql', 1, 'egov', now(), 5, true), (2, '1.1', 'add otp', 'SQL', "
                     "'V1.1__add_otp.sql', 2, 'egov', now(), 5, false) ON CONFLICT DO NOTHING")
    try:
        done = site.upgrade("--to", "digit-sample-b")
        output = done.stdout + done.stderr
        assert done.returncode == 1, output[-3000:]
        assert "public.egov_user_schema" in output and "V1.1__add_otp.sql" in output, output[-3000:]
        assert "V1.0__create_user.sql" not in output
        steps = {s["id"]: s for s in json.loads((site.state / "journal.json").read_text())["steps"]}
        assert steps["upgrade-checks"]["outcome"] == "failed"
        assert steps["upgrade-backup"]["outcome"] == "pending" and steps["upgrade-apply"]["outcome"] == "pending"
    finally:
        with _digit_db(site) as conn:  # repaired: the failed row goes, the good one stays
            conn.execute("DELETE FROM egov_user_schema WHERE NOT success")


def test_upgrade_applies_the_differences_and_a_rerun_is_a_no_op(site) -> None:
    with _digit_db(site) as conn:
        conn.execute("CREATE TABLE eg_sample (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO eg_sample SELECT g, 'row ' || g FROM generate_series(1, 250) g")
    assert "release profile: digit-sample-a (applied by the deploy step at " in site.status()
    done = site.upgrade("--to", "digit-sample-b")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "release.version: digit-sample-b" in done.stdout
    status = site.status()
    assert "release profile: digit-sample-b (applied by the upgrade step at " in status
    assert "last run (upgrade): succeeded" in status  # not "resume": an upgrade always goes on from the journal
    # An upgrade goes on from the install's journal by design; its first lines say upgrade, not resume.
    first = [line.split(" ", 1)[-1] for line in done.stdout.splitlines()[:8]]  # without the time stamp
    assert any(line.startswith("upgrade run ") for line in first), first
    assert any(line.startswith("upgrade starts at ") for line in first), first
    assert not any("resum" in line for line in first), first
    # the answers file now names the profile the install runs, so a later install run keeps it
    assert "version: digit-sample-b" in site.rig.answers_path.read_text()
    after = site.upgrade("--to", "digit-sample-b", "--plan")
    assert after.returncode == 0, after.stdout[-3000:]
    plan = site.plan()
    # Only the removed release is left (the upgrade never uninstalls without a named choice).
    assert plan["added"] == [] and plan["upgraded"] == [] and plan["removed"] == ["egov-idgen"]
    report = json.loads((site.state / "deploy-report.json").read_text())["upgrade"]
    assert report["deployed"] == ["egov-hrms", "egov-indexer", "egov-mdms-service", "egov-user"]
    # A rerun changes nothing: every release is found unchanged, no Helm revision is added, no new backup.
    rerun = site.upgrade("--to", "digit-sample-b")
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    again = json.loads((site.state / "deploy-report.json").read_text())["upgrade"]
    assert again["deployed"] == [] and again["failed"] == [] and "egov-user" in again["unchanged"]
    assert {n: r["revision"] for n, r in again["releases"].items()} == \
        {n: r["revision"] for n, r in report["releases"].items() if n in again["releases"]}
    assert len([p for p in (site.state / "backups").iterdir() if p.is_dir()]) == 1
    steps = {s["id"]: s for s in json.loads((site.state / "journal.json").read_text())["steps"]}
    assert steps["upgrade-apply"]["outcome"] == "succeeded"

    # The backup made before the point of no return: the dump, its sha256, its listing, a restore.
    backup = json.loads(Path(steps["upgrade-backup"]["outputs"]["folder"], "backup.json").read_text())
    dump = Path(backup["dump"])
    import stat

    assert hashlib.sha256(dump.read_bytes()).hexdigest() == backup["sha256"]
    assert (dump.parent / (dump.name + ".sha256")).read_text().split()[0] == backup["sha256"]
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    from installer.adapters import pgdump

    listing = "\n".join(pgdump.contents(dump))
    assert "TABLE public egov_user_schema" in listing and "TABLE public eg_sample" in listing
    assert backup["releases"]["egov-user"] == 1  # the revision before the upgrade
    import psycopg

    from tests.rig.rig import DB_NAME, DB_USER

    with psycopg.connect(site.rig.pg_dsn_admin, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS upgrade_scratch")
        admin.execute("CREATE DATABASE upgrade_scratch")
    password = site.rig.env["DIGIT_DB_PASSWORD"]
    admin_dsn = dict(part.split("=", 1) for part in site.rig.pg_dsn_admin.split())
    pgdump.restore(dump, pgdump.Connection("127.0.0.1", site.rig.pg_port, "postgres", admin_dsn["password"],
                                           "upgrade_scratch", "disable"))
    counts = {}
    for dbname in (DB_NAME, "upgrade_scratch"):
        with psycopg.connect(site.rig.pg_dsn_admin.replace("dbname=postgres", f"dbname={dbname}")) as conn:
            counts[dbname] = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
                              for t in ("eg_sample", "egov_user_schema")]
    assert counts[DB_NAME] == counts["upgrade_scratch"] == [250, 1]
    assert password not in (site.state / "journal.json").read_text()

    # Helm's values of every release's revision before the upgrade, 0600 beside its manifest. The
    # database password is the canary: DIGIT's configmaps release carries it in its values.
    folder = Path(backup["folder"])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert backup["release_namespaces"]["egov-user"] == "egov"
    for name, revision in backup["releases"].items():
        values_file = folder / "releases" / f"{backup['release_namespaces'][name]}.{name}.r{revision}.values.yaml"
        assert stat.S_IMODE(values_file.stat().st_mode) == 0o600, values_file
        assert isinstance(json.loads(values_file.read_text()), dict)
    indexer = json.loads((folder / "releases" / "egov.egov-indexer.r1.values.yaml").read_text())
    assert indexer["egov-indexer"]["replicas"] == 1  # the values before the upgrade (sample-b gives it 2)
    configmaps = next(folder.glob("releases/*.configmaps.r*.values.yaml"))
    assert json.loads(configmaps.read_text())["secrets"]["db"]["password"] == password
    holding = [p for p in site.state.rglob("*") if p.is_file() and password.encode() in p.read_bytes()]
    assert configmaps in holding
    for path in holding:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert path.suffix not in (".log", ".jsonl") and path.name != "journal.json", path
    for run in (done, after, rerun):
        assert password not in run.stdout + run.stderr
    # The closing lines say where the backup is and how to go back to where the upgrade started, each command
    # as this install needs it: the rig's kubeconfig and context, Helm's sql storage, the release's namespace,
    # the database's host, port, user and name, the password read from the variable the answers name.
    assert f"Backup taken before the point of no return: {folder}" in done.stdout
    going_back = done.stdout[done.stdout.index("To go back to where the upgrade started:"):]
    commands = re.findall(r"\n {5}([^\s(].*)", going_back)
    kube = f"--kubeconfig {site.rig.kubeconfig_path} --kube-context digit-rig"
    assert len(commands) == 5
    assert commands[:4] == [f"HELM_DRIVER=sql helm rollback {name} 1 -n egov {kube}"
                            for name in ("egov-indexer", "egov-mdms-service", "egov-user")] + [
        f"HELM_DRIVER=sql helm uninstall egov-hrms -n egov {kube}"]
    assert "export HELM_DRIVER_SQL_CONNECTION_STRING as for the upgrade" in going_back
    assert "restore the database (PGPASSWORD from the environment variable DIGIT_DB_PASSWORD" in going_back
    assert commands[4] == (f'PGPASSWORD="$DIGIT_DB_PASSWORD" PGSSLMODE=disable pg_restore --clean --if-exists '
                           f"--no-owner -h 127.0.0.1 -p {site.rig.pg_port} -U {DB_USER} -d {DB_NAME} {dump}")
    # ... and it runs as printed: rows the upgrade lost come back
    with _digit_db(site) as conn:
        conn.execute("DELETE FROM eg_sample WHERE id > 200")
    restored = subprocess.run(["bash", "-c", commands[4]], env={"PATH": os.environ["PATH"],
                                                                "DIGIT_DB_PASSWORD": password},
                              capture_output=True, text=True, timeout=120)
    assert restored.returncode == 0, restored.stderr
    with _digit_db(site) as conn:
        assert conn.execute("SELECT count(*) FROM eg_sample").fetchone()[0] == 250
    assert json.loads((folder / "upgrade-plan.json").read_text())["upgraded"] == [
        "egov-indexer", "egov-mdms-service", "egov-user"]  # the plan the backup was taken for, kept with it


def _mark_pending(site, name: str, namespace: str) -> int:
    """What a client killed mid-upgrade leaves: the release's latest record says pending-upgrade.

    Helm's sql driver keeps each revision as base64(gzip(JSON)) with the status also in a column."""
    import base64
    import gzip

    import psycopg

    with psycopg.connect(site.env["HELM_DRIVER_SQL_CONNECTION_STRING"], autocommit=True) as conn:
        key, body = conn.execute("SELECT key, body FROM releases_v1 WHERE name = %s AND namespace = %s "
                                 "ORDER BY version DESC LIMIT 1", (name, namespace)).fetchone()
        release = json.loads(gzip.decompress(base64.b64decode(body)))
        release["info"]["status"] = "pending-upgrade"
        encoded = base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()
        conn.execute("UPDATE releases_v1 SET body = %s, status = 'pending-upgrade' WHERE key = %s", (encoded, key))
        return int(release["version"])


def test_a_release_left_pending_is_refused_then_recovered_by_the_named_choice(site) -> None:
    revision = _mark_pending(site, "egov-user", "egov")
    refused = site.upgrade("--to", "digit-sample-b")
    output = refused.stdout + refused.stderr
    assert refused.returncode == 1, output[-3000:]
    assert f"egov/egov-user is pending-upgrade at revision {revision}" in output and "--recover-pending" in output
    recovered = site.upgrade("--to", "digit-sample-b", "--recover-pending")
    assert recovered.returncode == 0, recovered.stdout[-3000:] + recovered.stderr[-2000:]
    assert f"egov/egov-user rolled back to revision {revision - 1}" in recovered.stdout
    after = site.upgrade("--to", "digit-sample-b", "--plan")
    assert after.returncode == 0 and site.plan()["upgraded"] == []


def test_an_interrupted_backup_is_never_taken_for_one_and_resume_retakes_or_reuses_it(site) -> None:
    """kill -9 before the verified backup is renamed leaves only a .partial (0700, its files 0600); --resume
    removes it and backs up again; kill -9 after the rename, before the journal records the step, leaves a
    whole backup that --resume reuses rather than takes again. Nothing else in the folder is touched."""
    import stat

    from tests.upgrade.test_upgrade_failures import expire_run_lease

    installed = next(line.split(":", 1)[1].strip() for line in site.rig.answers_path.read_text().splitlines()
                     if line.startswith("  version: "))
    target = "digit-sample-a" if installed != "digit-sample-a" else "digit-sample-b"
    root = site.state / "backups"
    theirs = root / "20200101T000000.partial"  # another install's interrupted backup, sharing backup.path
    theirs.mkdir()
    (theirs / "taking.json").write_text(json.dumps({"install": "other-uat", "state_dir": "/srv/other"}))
    (theirs / "egov.dump").write_bytes(b"theirs")
    by_hand = root / "notes.partial"
    by_hand.mkdir()
    (by_hand / "readme.txt").write_text("kept by hand")
    before = set(root.iterdir())
    password = site.rig.env["DIGIT_DB_PASSWORD"]

    # killed once the dump is listed and every release's values are written, before the rename
    site.env["DIGIT_INSTALLER_TEST_KILL_AT"] = "progress:upgrade-backup:4"
    try:
        killed = site.upgrade("--to", target)
        assert killed.returncode == -9, (killed.returncode, killed.stdout[-2000:])
        [partial] = set(root.iterdir()) - before
        assert partial.name.endswith(".partial")  # nothing that looks like a backup
        assert stat.S_IMODE(partial.stat().st_mode) == 0o700
        files = [p for p in partial.rglob("*") if p.is_file()]
        assert any(p.name.endswith(".dump") for p in files) and any(p.name.endswith(".values.yaml") for p in files)
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert any(password.encode() in p.read_bytes() for p in files)  # the canary: values that hold secrets
        expire_run_lease(site)

        # resumed, killed again just after the rename: the journal does not yet record the backup
        site.env["DIGIT_INSTALLER_TEST_KILL_AT"] = "progress:upgrade-backup:5"
        killed = site.upgrade("--to", target, "--resume")
        assert killed.returncode == -9, (killed.returncode, killed.stdout[-2000:])
        [complete] = set(root.iterdir()) - before
        assert not partial.exists() and not complete.name.endswith(".partial")
        record = json.loads((complete / "backup.json").read_text())
        assert record["verified"] and record["folder"] == str(complete)
        assert hashlib.sha256(Path(record["dump"]).read_bytes()).hexdigest() == record["sha256"]
        steps = {s["id"]: s for s in json.loads((site.state / "journal.json").read_text())["steps"]}
        assert steps["upgrade-backup"]["outcome"] != "succeeded"
        expire_run_lease(site)
    finally:
        site.env.pop("DIGIT_INSTALLER_TEST_KILL_AT", None)

    # resumed: that backup is reused, not taken again, and the upgrade goes on from it; an older .partial of
    # this install (as a run killed earlier still would have left it) goes all the same
    taken = (complete / "backup.json").stat().st_mtime_ns
    older = root / "20200102T000000.partial"
    older.mkdir(mode=0o700)
    (older / "taking.json").write_text(json.dumps({"install": record["install"], "state_dir": str(site.state.absolute())}))
    (older / "egov.dump").write_bytes(b"truncated")
    # a run killed between making its folder and writing taking.json left it empty, naming no one: once old
    # it goes too; an empty one just made may be another run's about to write its first file, and stays
    abandoned, just_made = root / "20200103T000000.partial", root / "20200104T000000.partial"
    abandoned.mkdir(mode=0o700)
    os.utime(abandoned, (0, 0))
    just_made.mkdir(mode=0o700)
    resumed = site.upgrade("--to", target, "--resume")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    assert set(root.iterdir()) - before == {complete, just_made} and not older.exists() and not abandoned.exists()
    assert (complete / "backup.json").stat().st_mtime_ns == taken
    steps = {s["id"]: s for s in json.loads((site.state / "journal.json").read_text())["steps"]}
    assert steps["upgrade-backup"]["outcome"] == "succeeded" and steps["upgrade-apply"]["outcome"] == "succeeded"
    assert steps["upgrade-backup"]["outputs"]["folder"] == str(complete)
    assert f"Backup taken before the point of no return: {complete}" in resumed.stdout
    assert password not in resumed.stdout + resumed.stderr
    # what is not this install's stays as it was
    assert (theirs / "egov.dump").read_bytes() == b"theirs" and (by_hand / "readme.txt").read_text() == "kept by hand"


def test_a_ctrl_c_during_the_backup_removes_what_it_wrote_and_resume_takes_it_again(site) -> None:
    """The operator's Ctrl+C once the dump is written: the backup stops at its next phase, its .partial goes
    (it was never verified), nothing changed in the cluster, exit 130; --resume backs up again and upgrades."""
    installed = next(line.split(":", 1)[1].strip() for line in site.rig.answers_path.read_text().splitlines()
                     if line.startswith("  version: "))
    target = "digit-sample-a" if installed != "digit-sample-a" else "digit-sample-b"
    root = site.state / "backups"
    before = set(root.iterdir())
    revisions = _revisions(site)
    site.env.update(DIGIT_INSTALLER_TEST_KILL_AT="progress:upgrade-backup:2", DIGIT_INSTALLER_TEST_KILL_SIGNAL="INT")
    try:
        stopped = site.upgrade("--to", target)
    finally:
        for name in ("DIGIT_INSTALLER_TEST_KILL_AT", "DIGIT_INSTALLER_TEST_KILL_SIGNAL"):
            site.env.pop(name, None)
    assert stopped.returncode == 130, stopped.stdout[-3000:] + stopped.stderr[-2000:]
    assert set(root.iterdir()) == before  # no .partial left, and no backup that was never verified
    steps = {s["id"]: s for s in json.loads((site.state / "journal.json").read_text())["steps"]}
    assert steps["upgrade-backup"]["outcome"] == "interrupted"
    assert _revisions(site) == revisions
    resumed = site.upgrade("--to", target, "--resume")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    [taken] = set(root.iterdir()) - before
    assert json.loads((taken / "backup.json").read_text())["verified"]
    assert f"version: {target}" in site.rig.answers_path.read_text()
