"""Uninstall on the rig (the emulator over HTTP, Helm's real engine with its records in PostgreSQL):
only this install's releases go, claims stay, kill -9 then --resume finishes, data needs its name."""
from __future__ import annotations

import json

import pytest

from installer.adapters.helm import HelmSdkEngine, KubeAccess, ReleaseStorage
from installer.deploy import digests
from tests.engine.test_pipeline_rig import Install


def helm(install: Install) -> HelmSdkEngine:
    return HelmSdkEngine(KubeAccess(install.rig.kubeconfig_path, "digit-rig"),
                         ReleaseStorage("sql", sql_dsn=install.helm_dsn), openapi=False)


def releases_by_owner(install: Install) -> dict[str, set[str]]:
    engine = helm(install)
    try:
        found: dict[str, set[str]] = {}
        for release in engine.list(all_states=True):
            latest = max(engine.history(release.name, namespace=release.namespace), key=lambda r: r.revision)
            owner = latest.labels.get(digests.LABEL_INSTALL, "")
            found.setdefault(owner, set()).add(f"{release.namespace}/{release.name}")
        return found
    finally:
        engine.close()


def install_name(install: Install) -> str:
    line = next(line for line in install.answers.read_text().splitlines() if line.startswith("name:"))
    return line.split(":", 1)[1].strip()


def claims(install: Install) -> set[str]:
    return {key for key in install.cluster_state() if key.startswith("PersistentVolumeClaim/")}


def claims_of_statefulsets(api) -> list[str]:
    """The claims a StatefulSet controller makes for pod 0 (the emulator has no controller to make them)."""
    made = []
    for sts in api.list("StatefulSet"):
        meta = sts["metadata"]
        for template in (sts.get("spec") or {}).get("volumeClaimTemplates") or []:
            name = f"{template['metadata']['name']}-{meta['name']}-0"
            api.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": name, "namespace": meta["namespace"],
                                     "labels": dict(template["metadata"].get("labels") or {})},
                        "spec": template["spec"]})
            made.append(f"{meta['namespace']}/{name}")
    return made


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The sample installed on a rig of its own, plus a release of another install beside it."""
    from installer.deploy.executor import Executor
    from installer.deploy.helmops import EngineOperations
    from installer.deploy.cluster import connect_cluster
    from installer.deploy.readiness import ReadinessWatcher
    from tests.deploy.conftest import sample_specs
    from tests.rig.rig import Rig

    rig = Rig.up(tmp_path_factory.mktemp("rig-uninstall"), nodes=1, rollout_delay=0)
    try:
        install = Install(rig, tmp_path_factory.mktemp("uninstall"))
        proc = install.run()
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
        engine = helm(install)
        api = connect_cluster(rig.kubeconfig_path, "digit-rig")
        spec = next(s for s in sample_specs("other") if s.name == "configmaps")
        other = Executor(EngineOperations(engine), ReadinessWatcher(api, poll_interval=0.1, claim_grace=2.0),
                         installer_version="test", concurrency=1, install="haryana-uat").run([spec])
        assert other.results["configmaps"].outcome == "deployed", other.results["configmaps"]
        engine.close()
        made = claims_of_statefulsets(api)
        assert made, "the sample has no StatefulSet with volume claim templates"
        yield install
    finally:
        rig.down(quiet=True)


def _run(install: Install, *args: str, **env: str):
    import subprocess

    from tests.engine.test_pipeline_rig import ROOT

    argv = [str(ROOT / "install.sh"), "uninstall", "--answers", str(install.answers), "--state-dir",
            str(install.state), "--output", "plain", *args]
    proc = subprocess.run(argv, cwd=ROOT, env=install.env(**env), capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    install.outputs.append(proc.stdout + proc.stderr)
    return proc


def test_delete_data_without_the_named_confirmation_is_refused(installed):
    before = claims(installed)
    for extra in ([], ["--confirm-delete-data=someone-else"]):
        proc = _run(installed, "--yes", "--delete-data", *extra)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "refusing --delete-data: it destroys the data of install" in proc.stderr
        assert "--confirm-delete-data=" in proc.stderr
    assert claims(installed) == before
    assert not (installed.state / "uninstall" / "journal.json").exists()


def test_without_a_terminal_uninstall_needs_yes(installed):
    proc = _run(installed)
    assert proc.returncode == 2 and "pass --yes" in proc.stderr
    assert "will remove" in proc.stdout  # what it would remove is shown first


def _status(install: Install, *args: str) -> str:
    import subprocess

    from tests.engine.test_pipeline_rig import ROOT

    proc = subprocess.run([str(ROOT / "install.sh"), "status", "--answers", str(install.answers), "--state-dir",
                           str(install.state), *args], cwd=ROOT, env=install.env(), capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_uninstall_killed_then_resumed_removes_only_this_install_and_keeps_claims(installed):
    owners = releases_by_owner(installed)
    name = install_name(installed)
    ours, theirs = owners[name], owners["haryana-uat"]
    assert len(ours) >= 5 and theirs == {"egov-other/configmaps"}
    kept_claims = claims(installed)
    assert kept_claims, "the sample install made no claims to keep"

    proc = _run(installed, "--yes", DIGIT_INSTALLER_TEST_KILL_AT="progress:releases:3")
    assert proc.returncode == -9, proc.stdout + proc.stderr
    listed = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  ") and "/" in line]
    assert set(listed[:len(ours)]) == ours  # shown before anything was removed
    middle = releases_by_owner(installed).get(name, set())
    assert 0 < len(middle) < len(ours), "the kill came before or after the removals"
    status = _status(installed)
    assert status.splitlines()[0].startswith("an uninstall started at "), status
    assert "--resume" in status.splitlines()[0] and "every step succeeded" in status  # the install's table below

    proc = _run(installed, "--yes", "--resume")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "✓ The uninstall of" in proc.stdout
    after = releases_by_owner(installed)
    assert name not in after, after
    assert after["haryana-uat"] == theirs, "another install's release was touched"
    assert claims(installed) == kept_claims
    journal = json.loads((installed.state / "uninstall" / "journal.json").read_text())
    assert {s["id"]: s["outcome"] for s in journal["steps"]}["releases"] == "succeeded"
    # the install's own journal still says what was deployed, and status says first that it is gone
    assert (installed.state / "journal.json").exists()
    status = _status(installed)
    assert status.splitlines()[0].startswith("UNINSTALLED at "), status
    assert json.loads(_status(installed, "--output", "json"))["uninstall"]["outcome"] == "succeeded"
    from screens.state import describe_install

    assert describe_install(installed.state) == "uninstalled"  # the wizard's welcome page says it too


def test_removal_order_removes_a_release_before_what_it_needs(installed):
    """The order the killed run printed (and removed in) is the reverse of the profile's waves."""
    from installer.answers import load_answers
    from installer.plan.graph import profile_waves
    from installer.profiles import release_profile

    answers = load_answers(installed.answers)
    profile = release_profile(answers.release.version, answers.base_dir)
    waves = profile_waves(profile)
    shown = next(out for out in installed.outputs if "will remove" in out and "(none left)" not in out)
    order = [line.strip().split("/", 1)[1] for line in shown.split("last deployed first:", 1)[1].splitlines()[1:]
             if line.startswith("  ") and "/" in line and "PersistentVolumeClaim" not in line]
    position = {name: i for i, name in enumerate(order)}
    for spec in profile.releases:
        for need in spec.needs:
            assert waves[need] < waves[spec.name], (spec.name, need)
            if spec.name in position and need in position:
                assert position[spec.name] < position[need], (spec.name, need, order)


def test_delete_data_with_the_install_name_deletes_the_claims(installed):
    assert claims(installed)
    owners = releases_by_owner(installed)
    name = install_name(installed)
    proc = _run(installed, "--yes", "--delete-data", f"--confirm-delete-data={name}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "DATA THAT WILL BE DESTROYED" in proc.stdout
    assert claims(installed) == set() or all("other" in c for c in claims(installed))
    assert releases_by_owner(installed)["haryana-uat"] == owners["haryana-uat"]

