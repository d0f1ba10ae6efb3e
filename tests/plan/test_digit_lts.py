"""The real thing: DIGIT-DevOps DIGIT-2.9LTS charts, planned and rendered offline.

Needs a checkout that the repository does not carry: set DIGIT_LTS_CHARTS to its
deploy-as-code/charts (or place it at /tmp/digit-devops/deploy-as-code/charts). Skipped otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plan.conftest import REPO

CHARTS = Path(os.environ.get("DIGIT_LTS_CHARTS", "/tmp/digit-devops/deploy-as-code/charts"))
pytestmark = pytest.mark.skipif(not (CHARTS / "common" / "Chart.yaml").is_file(),
                                reason=f"no DIGIT-DevOps DIGIT-2.9LTS chart tree at {CHARTS} (set DIGIT_LTS_CHARTS)")

# Images that DIGIT's templates write literally, so no value can point them at a mirror.
HARD_CODED = {"egov-user": {"busybox", "egovio/playground:ubuntu-18-elasticdump"}}


def test_the_default_module_set_renders_with_every_image_from_the_mirror(tmp_path: Path) -> None:
    (tmp_path / "kubeconfig").write_text("")
    (tmp_path / "known_hosts").write_text("git.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0\n")
    answers = tmp_path / "answers.yaml"
    answers.write_text(f"""version: 1
name: lts-check
target: {{kind: existing-cluster, kubeconfig: kubeconfig, storage_class: standard}}
sizing: {{profile: dev}}
domain: {{fqdn: digit.lts.example.org, tls: {{mode: self-signed}}}}
database: {{mode: in-cluster}}
registry: {{mirror: "registry.sdc.local:5000", username: digit, password: {{env: LTS_REGISTRY_PASSWORD}}}}
release: {{version: digit-2.9-lts, charts: {CHARTS}}}
config_repos:
  mdms: {{url: "git@git.example.org:digit/egov-mdms-data.git", branch: main}}
  configs: {{url: "git@git.example.org:digit/configs.git", branch: main}}
  ssh_key: {{env: LTS_GIT_KEY}}
  known_hosts: known_hosts
monitoring: {{enabled: false}}
""")
    env = dict(os.environ, PYTHONPATH=str(REPO), LTS_REGISTRY_PASSWORD="lts-registry-pw-0001",
               LTS_GIT_KEY="-----BEGIN OPENSSH PRIVATE KEY-----\nlts-git-key\n-----END OPENSSH PRIVATE KEY-----\n")
    result = subprocess.run([sys.executable, "-m", "installer", "plan", "--answers", str(answers), "--out",
                             str(tmp_path / "out"), "--state-dir", str(tmp_path / "state")],
                            capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    names = {r["name"] for r in plan["releases"]}
    assert {"postgresql", "kafka-kraft", "elasticsearch", "configmaps", "egov-mdms-service", "egov-enc-service",
            "egov-user", "egov-hrms", "egov-workflow-v2", "pgr-services", "gateway", "digit-ui"} <= names
    assert len(plan["waves"]) >= 3
    for release in plan["releases"]:
        assert release["rendered"]["ok"], release
        assert set(release["rendered"].get("images_not_from_mirror", [])) <= HARD_CODED.get(release["name"], set())
    env_secrets = (tmp_path / "out" / "env-secrets.yaml").read_text()
    assert "lts-git-key" not in env_secrets and "lts-registry-pw-0001" not in (tmp_path / "out" / "cluster-objects.yaml").read_text()


def test_the_default_module_set_installs_on_the_emulator(tmp_path: Path, kube_api: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Helm's real install of every release, in plan order; cert-manager needs its CRDs served."""
    from installer.adapters.helm import HelmEngineError, HelmSdkEngine, KubeAccess, ReleaseStorage
    from installer.answers import load_answers
    from installer.plan import build_plan
    from installer.secretstore import SecretStore

    (tmp_path / "kubeconfig").write_text("")
    answers = tmp_path / "answers.yaml"
    answers.write_text(f"""version: 1
name: lts-install
target: {{kind: existing-cluster, kubeconfig: kubeconfig}}
sizing: {{profile: dev}}
domain: {{fqdn: digit.lts.example.org, tls: {{mode: self-signed}}}}
database: {{mode: in-cluster}}
release: {{version: digit-2.9-lts, charts: {CHARTS}}}
config_repos:
  mdms: {{url: "git@git.example.org:digit/egov-mdms-data.git", branch: main}}
  configs: {{url: "git@git.example.org:digit/configs.git", branch: main}}
  ssh_key: {{env: LTS_GIT_KEY}}
monitoring: {{enabled: false}}
""")
    monkeypatch.setenv("LTS_GIT_KEY", "-----BEGIN OPENSSH PRIVATE KEY-----\nlts\n-----END OPENSSH PRIVATE KEY-----\n")
    plan = build_plan(load_answers(answers), store=SecretStore(tmp_path / "state"))
    failed = {}
    with HelmSdkEngine(KubeAccess(kube_api), ReleaseStorage("memory"), openapi=False) as engine:
        for release in plan.graph.releases:
            try:
                info = engine.install(release.name, release.chart, plan.values[release.name],
                                      namespace=release.namespace, timeout=60)
                assert info.status == "deployed"
            except HelmEngineError as exc:
                failed[release.name] = str(exc)
    # cert-manager included: Helm installs its crds/ first and the emulator then serves ClusterIssuer.
    assert failed == {}, failed
    assert len(plan.graph.releases) == 37


def lts_answers(rig) -> Path:
    """The rig's answers file with the LTS chart tree, its release profile and an in-cluster database."""
    import re

    text = rig.answers_path.read_text()
    text = re.sub(r"(?m)^  version: .*$", "  version: digit-2.9-lts", text)
    text = re.sub(r"(?m)^  charts: .*$", f"  charts: {CHARTS}", text)
    text = re.sub(r"(?m)^database:\n(?:  .*\n)+", "database:\n  mode: in-cluster\n", text)
    answers = rig.dir / "answers-lts.yaml"
    answers.write_text(text)
    return answers


def run_install(rig, answers: Path, state: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_DRIVER", "DIGIT_INSTALLER_TEST"))}
    env.update(rig.env, PYTHONPATH=str(REPO), DIGIT_INSTALLER_READINESS_POLL="0.2")
    return subprocess.run([str(REPO / "install.sh"), *args, "--answers", str(answers), "--state-dir", str(state)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.timeout(1500)
def test_the_default_module_set_installs_end_to_end_on_the_rig(fresh_rig, tmp_path: Path) -> None:
    """`./install.sh --answers ... --yes` with the whole LTS default module set, cert-manager included, through
    Helm's default secret storage: every release ready, then a no-op rerun in a new process, then `status`."""
    import time

    rig = fresh_rig(nodes=3, rollout_delay=0.2)
    answers, state = lts_answers(rig), tmp_path / "state"
    started = time.monotonic()
    first = run_install(rig, answers, state, "--yes", "--output", "plain")
    install_seconds = time.monotonic() - started
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-3000:]
    report = json.loads((state / "deploy-report.json").read_text())["deploy"]
    plan = json.loads((state / "plan" / "plan.json").read_text())
    names = {r["name"] for r in plan["releases"]}
    assert len(names) == 37 and {"cert-manager", "postgresql", "egov-user", "digit-ui"} <= names
    assert set(report["deployed"]) == names and report["failed"] == [] and report["skipped"] == []
    assert all(report["releases"][n]["ready_at"] for n in names)

    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(rig.kubeconfig_path))
    issuers = client.CustomObjectsApi(api).list_cluster_custom_object("cert-manager.io", "v1", "clusterissuers")
    assert {i["metadata"]["name"] for i in issuers["items"]} >= {"letsencrypt-prod"}
    records = client.CoreV1Api(api).list_secret_for_all_namespaces(label_selector="owner=helm").items
    assert {s.metadata.labels["name"] for s in records} == names  # Helm's default storage: Secrets

    started = time.monotonic()
    again = run_install(rig, answers, state, "--yes", "--output", "plain")
    rerun_seconds = time.monotonic() - started
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-3000:]
    rerun = json.loads((state / "deploy-report.json").read_text())["deploy"]
    assert rerun["deployed"] == [] and set(rerun["unchanged"]) == names

    status = run_install(rig, answers, state, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "every step succeeded" in status.stdout
    print(f"\nLTS default module set on the rig: {len(names)}/{len(names)} ready; install {install_seconds:.1f} s, "
          f"deploy step {report['seconds']:.1f} s; no-op rerun {rerun_seconds:.1f} s (deploy step "
          f"{rerun['seconds']:.1f} s)")
