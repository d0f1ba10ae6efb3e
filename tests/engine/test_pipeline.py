"""Which steps a target kind gets, their inputs, and honest failures where a target cannot be provisioned."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from installer.answers import load_answers
from installer.engine import Engine, Step
from installer.answers import TARGET_KINDS, secret_refs
from installer.app.pipeline import PIPELINES, build_steps

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "assets" / "examples"


def example(name: str):
    return load_answers(EXAMPLES / f"{name}.yaml")


def test_existing_cluster_has_no_provisioning_and_needs_form_a_chain():
    steps = build_steps(example("existing-cluster"))
    assert [s.id for s in steps] == ["validate", "preflight", "database", "configure", "deploy", "monitoring",
                                     "verify", "summary"]
    ids = [s.id for s in steps]
    for index, step in enumerate(steps):
        assert all(ids.index(need) < index for need in step.needs), step.id
    by_id = {s.id: s for s in steps}
    assert by_id["verify"].needs == ("deploy", "monitoring")
    assert by_id["validate"].always_run


def test_sdc_vms_provisioning_stops_before_any_node_when_the_artifacts_are_missing(tmp_path):
    answers = example("sdc-vms")
    steps = build_steps(answers)
    assert [s.id for s in steps][2:4] == ["provision", "storage"]
    provision = steps[2]
    result = Engine([Step(provision.id, provision.title, provision.run)], answers=answers,
                    state_dir=tmp_path, install=answers.name).run()
    assert result.exit_code == 1
    assert result.message == ("RKE2 artifacts: target.rke2.artifacts: /opt/digit/rke2-artifacts is not a folder; "
                              "nothing was copied to any node")


@pytest.mark.parametrize("kind", ["aws", "azure", "gcp"])
def test_managed_clouds_provision_with_terraform_and_stop_when_the_mirror_lacks_the_provider(kind, tmp_path,
                                                                                            monkeypatch):
    monkeypatch.setenv("ARM_CLIENT_SECRET", "not-a-real-secret")
    answers = example(kind)
    if kind == "gcp":  # the example's key file, made for this test
        key = tmp_path / "key.json"
        key.write_text('{"type": "service_account"}')
        answers = answers.model_copy(update={"target": answers.target.model_copy(
            update={"credentials": answers.target.credentials.model_copy(update={"file": str(key)})})})
    mirror = tmp_path / "empty-mirror"
    mirror.mkdir()
    target = answers.target.model_copy(update={"provider_mirror": mirror})
    answers = answers.model_copy(update={"target": target})
    steps = build_steps(answers)
    assert [s.id for s in steps][2:4] == ["provision", "database"]
    provision = steps[2]
    result = Engine([Step(provision.id, provision.title, provision.run)], answers=answers,
                    state_dir=tmp_path / "state", install=answers.name).run()
    assert result.exit_code == 1
    assert "terraform init failed" in result.message and "provider" in result.message.lower(), result.message


def test_openstack_provisions_with_terraform_then_storage_and_stops_when_the_mirror_lacks_the_provider(
        tmp_path, monkeypatch):
    monkeypatch.setenv("OS_PASSWORD", "not-a-real-password")
    answers = example("openstack-nic")
    mirror = tmp_path / "empty-mirror"
    mirror.mkdir()
    answers = answers.model_copy(update={"target": answers.target.model_copy(update={"provider_mirror": mirror})})
    steps = build_steps(answers)
    assert [s.id for s in steps][2:5] == ["provision", "storage", "database"]
    provision = steps[2]
    result = Engine([Step(provision.id, provision.title, provision.run)], answers=answers,
                    state_dir=tmp_path / "state", install=answers.name).run()
    assert result.exit_code == 1
    assert "terraform init failed" in result.message and "provider" in result.message.lower(), result.message


def test_optional_steps_follow_the_answers():
    answers = example("aws")
    assert answers.ci.jenkins and answers.monitoring.enabled
    assert {"monitoring", "ci"} <= {s.id for s in build_steps(answers)}
    quiet = answers.model_copy(update={"monitoring": answers.monitoring.model_copy(update={"enabled": False}),
                                       "ci": answers.ci.model_copy(update={"jenkins": False})})
    steps = {s.id: s for s in build_steps(quiet)}
    assert "monitoring" not in steps and "ci" not in steps
    assert steps["verify"].needs == ("deploy",)


def test_every_target_kind_has_a_pipeline_of_real_step_functions():
    assert set(PIPELINES) == set(TARGET_KINDS)
    for kind in TARGET_KINDS:
        for step in build_steps(example("openstack-nic" if kind == "openstack" else kind)):
            assert inspect.isfunction(step.run), step.id
            module = inspect.getmodule(step.run).__name__
            assert module.startswith("installer.") and step.run.__name__ in vars(inspect.getmodule(step.run)), \
                (step.id, module)


def test_input_digests_follow_only_the_sections_a_step_reads(tmp_path):
    answers = example("existing-cluster")
    engine = Engine(build_steps(answers), answers=answers, state_dir=tmp_path, install=answers.name)
    before = {s.id: engine.digests(s) for s in engine.steps}
    changed = answers.model_copy(update={"monitoring": answers.monitoring.model_copy(
        update={"alerts": answers.monitoring.alerts.model_copy(update={"email": "someone@example.org"})})})
    engine = Engine(build_steps(changed), answers=changed, state_dir=tmp_path, install=answers.name)
    after = {s.id: engine.digests(s) for s in engine.steps}
    assert [s for s in before if before[s] != after[s]] == ["validate", "monitoring"]


def test_secret_refs_are_found_with_their_key_paths():
    paths = {path for path, _ in secret_refs(example("existing-cluster"))}
    assert {"target.ssh.private_key", "config_repos.ssh_key", "credentials.enc_master_password"} <= paths
