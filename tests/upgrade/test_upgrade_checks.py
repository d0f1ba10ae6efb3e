"""The checks before an upgrade changes anything, each broken on the rig, then fixed.

Real parts: the emulator over HTTP (its Node objects), the rig's PostgreSQL (DIGIT's database
and Helm's sql storage), Helm's real engine, the rig's TLS + htpasswd registry mirror, and a
tmpfs mounted here for a backup folder without room. Every refusal is proven to come before
anything changed: no Helm revision moved (read from Helm's storage), no backup taken, the journal
shows the step that refused failed and the backup pending. "Fixed" is proven by a run that gets
past the check (killed right after it, so the next case starts from the same install), and, for
the last case, by a whole upgrade.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.upgrade.test_upgrade import Site
from tests.upgrade.test_upgrade_failures import expire_run_lease

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from tests.conftest import start_rig

    rig = start_rig(tmp_path_factory, nodes=1, rollout_delay=0.2, registry=True)
    one = Site(rig, tmp_path_factory.mktemp("upgrade-checks"))
    done = one.install()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield one
    rig.down(quiet=True)


def revisions(site) -> dict[str, int]:
    """Each release's latest revision as Helm's sql storage holds it (what an upgrade would move)."""
    import psycopg

    with psycopg.connect(site.env["HELM_DRIVER_SQL_CONNECTION_STRING"], autocommit=True) as conn:
        return dict(conn.execute("SELECT name, max(version) FROM releases_v1 GROUP BY name").fetchall())


def backups(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file())


def steps(site) -> dict[str, str]:
    return {s["id"]: s["outcome"] for s in json.loads((site.state / "journal.json").read_text())["steps"]}


def assert_refused_before_anything_changed(site, done, before: dict[str, int], step: str, *named: str,
                                           backup_folder: Path | None = None) -> str:
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-4000:]
    for text in named:
        assert text in output, (text, output[-4000:])
    assert revisions(site) == before
    assert backups(site.state / "backups", *([backup_folder] if backup_folder else [])) == []
    outcomes = steps(site)
    assert outcomes[step] == "failed", outcomes
    assert outcomes["upgrade-backup"] == "pending" and outcomes["upgrade-apply"] == "pending", outcomes
    return output


def assert_gets_past(site, step: str, before: dict[str, int], backup_folder: Path | None = None,
                     target: str = "digit-sample-b") -> None:
    """The fixed upgrade passes `step`: killed the moment the journal records its success, nothing else done."""
    site.env["DIGIT_INSTALLER_TEST_KILL_AT"] = f"after:{step}"
    try:
        killed = site.upgrade("--to", target)
    finally:
        del site.env["DIGIT_INSTALLER_TEST_KILL_AT"]
    assert killed.returncode == -9, (killed.returncode, killed.stdout[-3000:] + killed.stderr[-2000:])
    assert steps(site)[step] == "succeeded"
    assert revisions(site) == before
    assert backups(site.state / "backups", *([backup_folder] if backup_folder else [])) == []
    expire_run_lease(site)


def test_a_node_not_ready_refuses_the_upgrade_naming_the_node(site) -> None:
    from installer.deploy.cluster import connect_cluster

    api = connect_cluster(site.rig.kubeconfig_path, None)
    node = site.rig.nodes[0].name
    ready = api.get("Node", node)["status"]["conditions"]
    before = revisions(site)
    api.patch("Node", node, {"status": {"conditions": [
        {"type": "Ready", "status": "False", "reason": "KubeletNotReady",
         "message": "container runtime network not ready"}]}})
    try:
        done = site.upgrade("--to", "digit-sample-b")
        assert_refused_before_anything_changed(site, done, before, "upgrade-checks",
                                               f"node {node} (Ready=False, KubeletNotReady", "is not Ready")
    finally:
        api.patch("Node", node, {"status": {"conditions": ready}})
    assert_gets_past(site, "upgrade-checks", before)


def _write_site_profile(site, name: str, postgres_min: int) -> None:
    """A site's own successor profile beside its answers file, demanding a PostgreSQL version."""
    folder = site.rig.answers_path.parent / "profiles" / "releases"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"name: digit-{name}", "extends: digit-sample-b", f"postgres_min: {postgres_min}"]
    (folder / f"digit-{name}.yaml").write_text("\n".join(lines) + "\n")


def test_postgres_older_than_the_target_profile_needs_is_refused_naming_both_versions(site) -> None:
    import psycopg

    with psycopg.connect(site.rig.pg_dsn_admin, autocommit=True) as conn:
        version_num = int(conn.execute("SHOW server_version_num").fetchone()[0])
        version = conn.execute("SHOW server_version").fetchone()[0]
    major = version_num // 10000
    _write_site_profile(site, "sample-b-site", major + 1)
    before = revisions(site)
    done = site.upgrade("--to", "digit-sample-b-site")
    output = assert_refused_before_anything_changed(site, done, before, "upgrade-checks",
                                                    f"PostgreSQL {version}", f"is older than {major + 1}")
    assert "postgres_min" in output
    # The same profile asking for the server's own version: the check passes.
    _write_site_profile(site, "sample-b-site", major)
    assert_gets_past(site, "upgrade-checks", before, target="digit-sample-b-site")


def _set_backup_path(site, folder: Path | None) -> None:
    text = site.rig.answers_path.read_text()
    text = re.sub(r"\nbackup:\n  path: .*\n", "\n", text)
    if folder is not None:
        text = text.rstrip("\n") + f"\nbackup:\n  path: {folder}\n"
    site.rig.answers_path.write_text(text)


def test_no_room_for_the_backup_is_refused_naming_folder_free_and_needed(site, tmp_path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a 1 MiB tmpfs as the backup folder needs root")
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(small)],
                             capture_output=True, text=True, timeout=30)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    folder = small / "digit-backups"
    try:
        import psycopg

        from tests.rig.rig import DB_NAME

        with psycopg.connect(site.rig.pg_dsn_admin, autocommit=True) as conn:
            size = conn.execute("SELECT pg_database_size(%s)", (DB_NAME,)).fetchone()[0]
        assert size > 2**20, "the database must be bigger than the 1 MiB tmpfs for this test to mean anything"
        _set_backup_path(site, folder)
        before = revisions(site)
        done = site.upgrade("--to", "digit-sample-b")
        output = assert_refused_before_anything_changed(site, done, before, "upgrade-checks",
                                                        f"the backup folder {folder} has", backup_folder=small)
        found = re.search(r"has ([\d.]+) MiB free; the backup of the ([\d.]+) MiB database needs ([\d.]+) MiB",
                          output)
        assert found, output[-3000:]
        free, database, needed = map(float, found.groups())
        assert free <= 1.0 < database < needed
        assert not folder.exists()  # the check only read: it made no folder
        # Room made: the same folder passes.
        subprocess.run(["mount", "-o", "remount,size=256m", str(small)], check=True, timeout=30)
        assert_gets_past(site, "upgrade-checks", before, backup_folder=small)
    finally:
        _set_backup_path(site, None)
        subprocess.run(["umount", str(small)], capture_output=True, timeout=30)


SAMPLE_B_NEW_IMAGES = ["egovio/egov-user:v1.2.9-aaaaaaa-20", "egovio/egov-user-db:v1.2.9-aaaaaaa-20",
                       "egovio/egov-mdms-service:v1.3.3-bbbbbbb-4"]


def test_an_image_of_the_target_missing_from_the_mirror_is_refused_naming_it(site) -> None:
    """Runs last: once the image is pushed, the whole upgrade goes through."""
    from installer.plan.values import _strip_host
    from tests.rig import registry as rig_registry

    mirror = site.rig.registry("mirror")
    missing = "egovio/egov-user-db:v1.2.9-aaaaaaa-20"
    present = sorted({_strip_host(i) for i in rig_registry.SAMPLE_IMAGES if i != rig_registry.LARGE_IMAGE}
                     | set(SAMPLE_B_NEW_IMAGES) - {missing})
    rig_registry.fill(mirror, present)
    before = revisions(site)
    done = site.upgrade("--to", "digit-sample-b")
    output = assert_refused_before_anything_changed(site, done, before, "images",
                                                    f"{mirror.address}/{missing}: not in the mirror")
    assert output.count(": not in the mirror") == output.count(f"{mirror.address}/{missing}: not in the mirror")
    assert steps(site)["upgrade-checks"] == "succeeded"

    rig_registry.fill(mirror, [missing])
    upgraded = site.upgrade("--to", "digit-sample-b")
    assert upgraded.returncode == 0, upgraded.stdout[-4000:] + upgraded.stderr[-2000:]
    assert steps(site)["images"] == "succeeded" and steps(site)["upgrade-apply"] == "succeeded"
    assert revisions(site)["egov-user"] == before["egov-user"] + 1
