"""Upgrades on a rig of their own: install sample-a, plan and apply the move to sample-b.

Real parts: the emulator over HTTP, the rig's PostgreSQL (Helm's sql storage), Helm's real engine.
Profiles a, b and c (tests/fixtures/upgrade/profiles) extend the sample tree's profile.
"""
from __future__ import annotations

import json
import os
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
        rig.answers_path.write_text(text.replace(f"  version: {version}", "  version: sample-a"))

    def install(self, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tests.deploy.pipeline_driver", "--answers",
                               str(self.rig.answers_path), "--state-dir", str(self.state), "--output", "json", *extra],
                              cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300)

    def upgrade(self, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "installer", "upgrade", "--answers", str(self.rig.answers_path),
                               "--state-dir", str(self.state), "--output", "plain", "--yes", *extra],
                              cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300)

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
    done = site.upgrade("--to", "sample-b", "--plan")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    plan = site.plan()
    assert plan["from_profile"] == "digit-sample-a" and plan["to_profile"] == "digit-sample-b"
    assert (plan["from_commit"], plan["to_commit"]) == ("aaaaaaa0001", "bbbbbbb0002")
    assert plan["added"] == ["egov-hrms"]
    assert plan["removed"] == ["egov-idgen"]
    assert plan["upgraded"] == ["egov-indexer", "egov-mdms-service", "egov-user"]
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
    assert indexer["objects_changed"] == [f"Deployment/egov/egov-indexer"]
    assert plan["needs_backup"] and "restoring the database backup" in plan["point_of_no_return"]
    for name, release in releases.items():
        assert release["immutable"] == [] and release["blocked"] == [] and release["pvc_growth"] == [], name
    assert "migration: needs the database backup first" in done.stdout
    # Nothing changed: the journal is as the install left it.
    assert (site.state / "journal.json").read_text() == journal_before


def test_volume_claim_template_change_is_flagged(site) -> None:
    done = site.upgrade("--to", "sample-c", "--plan")
    plan = site.plan()
    elasticsearch = next(r for r in plan["releases"] if r["name"] == "elasticsearch")
    assert [f["field"] for f in elasticsearch["immutable"]] == ["spec.volumeClaimTemplates"]
    assert elasticsearch["pvc_growth"][0]["new"] == "16Gi"
    assert "IMMUTABLE StatefulSet/backbone/elasticsearch spec.volumeClaimTemplates" in done.stdout


def test_immutable_change_stops_the_upgrade_until_the_operator_chooses(site) -> None:
    done = site.upgrade("--to", "sample-c")
    assert done.returncode == 1, done.stdout[-3000:]
    assert "--recreate-immutable" in done.stdout + done.stderr
    assert "Kubernetes refuses these changes in place" in done.stdout + done.stderr
    # Nothing was upgraded: elasticsearch is still at its first revision.
    again = site.upgrade("--to", "sample-c", "--plan")
    assert again.returncode == 0
    assert next(r for r in site.plan()["releases"] if r["name"] == "elasticsearch")["revision"] == 1


def test_upgrade_applies_the_differences_and_a_rerun_is_a_no_op(site) -> None:
    done = site.upgrade("--to", "sample-b")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "release.version: sample-b" in done.stdout
    after = site.upgrade("--to", "sample-b", "--plan")
    assert after.returncode == 0, after.stdout[-3000:]
    plan = site.plan()
    # Only the removed release is left (the upgrade never uninstalls without a named choice).
    assert plan["added"] == [] and plan["upgraded"] == [] and plan["removed"] == ["egov-idgen"]
    report = json.loads((site.state / "deploy-report.json").read_text())["upgrade"]
    assert report["deployed"] == ["egov-hrms", "egov-indexer", "egov-mdms-service", "egov-user"]
    # A rerun: nothing to do, the apply step is not even entered and Helm's records do not move.
    rerun = site.upgrade("--to", "sample-b")
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert json.loads((site.state / "deploy-report.json").read_text())["upgrade"] == report
    steps = {s["id"]: s for s in json.loads((site.state / "journal.json").read_text())["steps"]}
    assert steps["upgrade-apply"]["outcome"] == "succeeded"
