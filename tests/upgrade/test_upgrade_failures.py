"""Upgrades that go wrong, on a rig of their own: a release that never becomes ready, and kill -9.

The end state of every path is compared with an uninterrupted upgrade's: each release's deployed
manifest fingerprint in Helm's storage equals the target's render.
"""
from __future__ import annotations

import json

import pytest

from tests.upgrade.test_upgrade import Site
from datetime import UTC

pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def site(fresh_rig, tmp_path):
    rig = fresh_rig(nodes=1, rollout_delay=0.2)
    one = Site(rig, tmp_path)
    done = one.install()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return one


def history(site, name: str, namespace: str = "egov") -> list[tuple[int, str, str]]:
    from installer.adapters.helm import HelmSdkEngine, KubeAccess, ReleaseStorage

    with HelmSdkEngine(KubeAccess(site.rig.kubeconfig_path),
                       ReleaseStorage("sql", sql_dsn=site.env["HELM_DRIVER_SQL_CONNECTION_STRING"]),
                       openapi=False) as helm:
        return [(r.revision, r.status, r.description) for r in helm.history(name, namespace=namespace)]


def expire_run_lease(site) -> None:
    """The killed run's cluster Lease as it is once its 60 s have passed (a dead run stops renewing it)."""
    from datetime import datetime, timedelta

    from installer.deploy.cluster import connect_cluster
    from installer.deploy.lease import LEASE_NAME, LEASE_NAMESPACE

    api = connect_cluster(site.rig.kubeconfig_path, None)
    past = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    api.patch("Lease", LEASE_NAME, {"spec": {"renewTime": past}}, LEASE_NAMESPACE)


def settled(site) -> dict:
    """What is left to do according to a fresh plan (nothing but the removed release, when done)."""
    done = site.upgrade("--to", "digit-sample-b", "--plan")
    assert done.returncode == 0, done.stdout[-3000:]
    plan = site.plan()
    return {"added": plan["added"], "upgraded": plan["upgraded"], "removed": plan["removed"]}


def test_a_never_ready_release_is_rolled_back_dependents_untouched_then_resume(site) -> None:
    site.rig.set_rollout(never_ready=["egov-mdms-service"], reason="CrashLoopBackOff")
    done = site.upgrade("--to", "digit-sample-b")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "egov-mdms-service" in output and "rolled back to revision 1" in output
    revisions = history(site, "egov-mdms-service")
    assert [r[1] for r in revisions][-1] == "deployed" and revisions[-1][0] == 3  # 1 install, 2 upgrade, 3 rollback
    # egov-user needs egov-enc-service, which needs egov-mdms-service: not upgraded.
    assert history(site, "egov-user") == [(1, "deployed", history(site, "egov-user")[0][2])]
    report = json.loads((site.state / "deploy-report.json").read_text())["upgrade"]
    assert "egov-user" in report["skipped"] and "egov-enc-service" in report["skipped"]
    assert "egov-mdms-service" in report["failed"]
    # status names the profile the upgrade applied, and the releases that do not run it
    [line] = [line for line in site.status().splitlines() if line.startswith("release profile: ")]
    assert line.startswith("release profile: digit-sample-b (applied by the upgrade step at "), line
    assert all(name in line.split("not applied to ", 1)[1] for name in ("egov-mdms-service", "egov-user",
                                                                       "egov-enc-service")), line

    site.rig.set_rollout(never_ready=[])
    resumed = site.upgrade("--to", "digit-sample-b", "--resume")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    assert settled(site) == {"added": [], "upgraded": [], "removed": ["egov-idgen"]}
    assert history(site, "egov-user")[-1][:2] == (2, "deployed")


@pytest.mark.parametrize("kill_at", ["after:upgrade-checks", "after:upgrade-backup", "progress:upgrade-apply:4"])
def test_kill_9_then_resume_reaches_the_same_end_state(site, kill_at) -> None:
    site.env["DIGIT_INSTALLER_TEST_KILL_AT"] = kill_at
    killed = site.upgrade("--to", "digit-sample-b")
    assert killed.returncode == -9, (killed.returncode, killed.stdout[-2000:])
    del site.env["DIGIT_INSTALLER_TEST_KILL_AT"]
    expire_run_lease(site)
    resumed = site.upgrade("--to", "digit-sample-b", "--resume")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    assert settled(site) == {"added": [], "upgraded": [], "removed": ["egov-idgen"]}
    steps = {s["id"]: s for s in json.loads((site.state / "journal.json").read_text())["steps"]}
    assert all(steps[s]["outcome"] == "succeeded" for s in ("upgrade-plan", "upgrade-checks", "upgrade-backup",
                                                             "upgrade-apply"))
    # One backup only when the kill came after it: the resumed run did not dump again past that point.
    backups = sorted(p for p in (site.state / "backups").iterdir() if p.is_dir())
    assert len(backups) == 1, backups


def test_objects_applied_without_helm_are_adopted_then_upgraded_nothing_recreated(site, tmp_path) -> None:
    import subprocess
    import sys

    from installer.deploy.cluster import connect_cluster
    from installer.yamlio import load_yaml_all
    from tests.deploy.conftest import REPO

    # egov-deployer's way: `helm template | kubectl apply` of the release digit-sample-b adds (egov-hrms).
    answers_b = site.rig.answers_path.with_name("answers-b.yaml")
    answers_b.write_text(site.rig.answers_path.read_text().replace("  version: digit-sample-a", "  version: digit-sample-b"))
    out = tmp_path / "plan-b"
    done = subprocess.run([sys.executable, "-m", "installer", "plan", "--answers", str(answers_b), "--out", str(out)],
                          cwd=REPO, env=site.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    api = connect_cluster(site.rig.kubeconfig_path, None)
    documents = [d for d in load_yaml_all((out / "releases" / "egov-hrms" / "manifest.yaml").read_text())
                 if isinstance(d, dict) and d.get("kind")]
    assert documents
    uids = {}
    for doc in documents:
        doc["metadata"].setdefault("namespace", "egov")
        assert api.create(doc)
        live = api.get(doc["kind"], doc["metadata"]["name"], doc["metadata"]["namespace"])
        uids[(doc["kind"], doc["metadata"]["name"])] = live["metadata"]["uid"]

    planned = site.upgrade("--to", "digit-sample-b", "--plan")
    assert planned.returncode == 0
    unowned = site.plan()["unowned"]
    assert {(o["kind"], o["name"]) for o in unowned} == set(uids) and {o["release"] for o in unowned} == {"egov-hrms"}
    assert "adopt    Deployment/egov/egov-hrms into release egov-hrms" in planned.stdout

    refused = site.upgrade("--to", "digit-sample-b")
    assert refused.returncode == 1 and "--adopt" in refused.stdout + refused.stderr
    assert history_or_none(site, "egov-hrms") is None

    adopted = site.upgrade("--to", "digit-sample-b", "--adopt")
    assert adopted.returncode == 0, adopted.stdout[-3000:] + adopted.stderr[-2000:]
    for (kind, name), uid in uids.items():
        live = api.get(kind, name, "egov")
        assert live["metadata"]["uid"] == uid, (kind, name)  # neither deleted nor made again
        assert live["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert live["metadata"]["annotations"]["meta.helm.sh/release-name"] == "egov-hrms"
    assert history(site, "egov-hrms")[-1][1] == "deployed"
    assert settled(site) == {"added": [], "upgraded": [], "removed": ["egov-idgen"]}


def history_or_none(site, name: str):
    from installer.adapters.helm import ReleaseNotFound

    try:
        return history(site, name)
    except ReleaseNotFound:
        return None
