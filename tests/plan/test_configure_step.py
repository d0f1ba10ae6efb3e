"""The configure step through the real engine, against the emulator's API over HTTP."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from installer.answers import load_answers
from installer.engine import EXIT_FAILED, EXIT_OK, Engine, Step
from installer.engine.journal import Journal
from installer.plan.step import configure
from installer.secretstore import CLUSTER_NAMESPACE, CLUSTER_SECRET
from tests.plan.conftest import CANARY, materialize_example


def _point_at(answers_path: Path, kube_api: Path) -> None:
    """The answers' kubeconfig becomes the emulator's, with the context the example names."""
    yaml = YAML()
    data = yaml.load(answers_path.read_text())
    config = YAML(typ="safe").load(kube_api.read_text())
    context = data["target"].get("context") or "emulator"
    config["contexts"][0]["name"] = context
    config["current-context"] = context
    kubeconfig = answers_path.parent / "kubeconfig-emulator"
    with kubeconfig.open("w") as handle:
        YAML().dump(config, handle)
    data["target"]["kubeconfig"] = str(kubeconfig)
    with answers_path.open("w") as handle:
        yaml.dump(data, handle)


def _run(answers_path: Path, state: Path) -> tuple[int, dict]:
    answers = load_answers(answers_path)
    result = Engine([Step("configure", "Configure the cluster", configure)], answers=answers,
                    state_dir=state, install=answers.name).run()
    return result.exit_code, Journal.load(state).outputs().get("configure", {})


def _api(kube_api: Path):
    from installer.adapters.kube import api_client
    from kubernetes import client

    return client.CoreV1Api(api_client(kube_api))


def _secret(core, namespace: str, name: str) -> dict[str, str]:
    found = core.read_namespaced_secret(name, namespace)
    return {k: base64.b64decode(v).decode() for k, v in (found.data or {}).items()}


@pytest.fixture
def emulated_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kube_api: Path) -> Path:
    answers = materialize_example("existing-cluster.yaml", tmp_path / "site", monkeypatch)
    _point_at(answers, kube_api)
    return answers


def test_configure_applies_objects_and_keeps_generated_secrets(emulated_site: Path, tmp_path: Path,
                                                              kube_api: Path) -> None:
    code, outputs = _run(emulated_site, tmp_path / "state-a")
    assert code == EXIT_OK, outputs
    created = outputs["objects"]["created"]
    # digit-installer was made a moment earlier, by the secret store keeping the generated values.
    assert set(created) == {"Namespace/backbone", "Namespace/egov", "Namespace/monitoring"}
    assert outputs["objects"]["unchanged"] == ["Namespace/digit-installer"]
    assert outputs["waves"] >= 3 and outputs["generated_secrets"]
    core = _api(kube_api)
    stored_local = json.loads((tmp_path / "state-a" / "generated-secrets.json").read_text())["values"]
    in_cluster = _secret(core, CLUSTER_NAMESPACE, CLUSTER_SECRET)
    assert in_cluster == stored_local
    # The service Secrets (db, egov-enc-service, git-creds) belong to the configmaps release, as in DIGIT.
    manifest = (tmp_path / "state-a" / "plan" / "releases" / "configmaps" / "manifest.yaml").read_text()
    assert "name: db" in manifest and "name: git-creds" in manifest and "flyway-password: '******'" in manifest
    journal_text = (tmp_path / "state-a" / "journal.json").read_text()
    assert '"configure"' in journal_text
    for value in stored_local.values():
        assert value not in journal_text
    assert (tmp_path / "state-a" / "plan" / "plan.json").is_file()

    # Again from the same jump host: nothing new is generated, nothing changes.
    code, again = _run(emulated_site, tmp_path / "state-a")
    assert code == EXIT_OK
    assert again["generated_secrets"] == [] and again["objects"]["created"] == [] and again["objects"]["updated"] == []

    # From another jump host (empty state dir) that reads the same cluster: the same values come back.
    code, elsewhere = _run(emulated_site, tmp_path / "state-b")
    assert code == EXIT_OK and elsewhere["generated_secrets"] == []
    assert json.loads((tmp_path / "state-b" / "generated-secrets.json").read_text())["values"] == stored_local
    assert _secret(core, CLUSTER_NAMESPACE, CLUSTER_SECRET) == stored_local


def test_configure_refuses_a_chart_that_does_not_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       kube_api: Path) -> None:
    import shutil

    from tests.plan.conftest import SAMPLE_CHARTS

    charts = tmp_path / "charts"
    shutil.copytree(SAMPLE_CHARTS, charts)
    broken = charts / "core-services" / "egov-user" / "templates" / "deployment.yaml"
    broken.write_text('{{- required "egov-user.mandatory is required" .Values.mandatory -}}\n')
    answers = materialize_example("existing-cluster.yaml", tmp_path / "site", monkeypatch, charts=charts)
    _point_at(answers, kube_api)
    code, outputs = _run(answers, tmp_path / "state")
    assert code == EXIT_FAILED
    record = Journal.load(tmp_path / "state").get("configure")
    assert "egov-user" in record.message and "egov-user.mandatory is required" in record.message
    assert CANARY not in record.message


def test_a_dry_run_keeps_nothing(emulated_site: Path, tmp_path: Path) -> None:
    answers = load_answers(emulated_site)
    state = tmp_path / "dry"
    result = Engine([Step("configure", "Configure the cluster", configure)], answers=answers,
                    state_dir=state, install=answers.name, dry_run=True).run()
    assert result.exit_code == EXIT_OK
    assert not (state / "generated-secrets.json").exists()
    assert not (state / "plan").exists()
