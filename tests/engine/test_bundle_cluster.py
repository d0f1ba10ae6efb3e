"""The support bundle gathers pod status and events of failed releases from the rig's Kubernetes API."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from installer import redact
from installer.engine import Engine, Step, StepFailed

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "bundle-test"
RELEASE = "egov-bundle-mdms"


def _deployment() -> dict:
    labels = {"app.kubernetes.io/instance": RELEASE, "app": RELEASE}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": RELEASE, "namespace": NAMESPACE, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "mdms", "image": "egov/mdms:test"}]}}}}


def failing_deploy(kubeconfig: Path, secret: str):
    """Creates a Deployment the rollout simulator never makes ready, then fails the way deploy does."""

    def run(ctx):
        from kubernetes import client, config
        from kubernetes.client.rest import ApiException

        api = config.new_client_from_config(config_file=str(kubeconfig), context="digit-rig")
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        try:
            core.create_namespace({"metadata": {"name": NAMESPACE}}, _request_timeout=10)
        except ApiException as exc:
            if exc.status != 409:
                raise
        try:
            apps.create_namespaced_deployment(NAMESPACE, _deployment(), _request_timeout=10)
        except ApiException as exc:
            if exc.status != 409:
                raise
        ctx.log(f"installing {RELEASE} with database password {secret}", task=RELEASE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            pods = core.list_namespaced_pod(NAMESPACE, _request_timeout=10).items
            if pods:
                break
            ctx.sleep(0.2)
        raise StepFailed(f"{RELEASE} never became ready", remediation="see the support bundle",
                         details={"failed_releases": [{"name": RELEASE, "namespace": NAMESPACE,
                                                       "reason": "CrashLoopBackOff"}]})

    return run


def bundle_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_bundle_collects_failed_release_pods_and_has_no_secret(rig, tmp_path):
    secret = rig.env["DIGIT_DB_PASSWORD"]
    redact.register(secret)
    rig.set_rollout(never_ready=[RELEASE])
    try:
        state = tmp_path / "state"
        engine = Engine([Step("deploy", "Deploy", failing_deploy(rig.kubeconfig_path, secret))],
                        answers={}, state_dir=state, install="bundle-test")
        result = engine.run()
        assert result.exit_code == 1 and result.failed_step == "deploy"
        out = tmp_path / "bundle.tar.gz"
        env = {**os.environ, **rig.env, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([sys.executable, "-m", "installer", "support-bundle", "--answers", str(rig.answers_path),
                               "--state-dir", str(state), "-o", str(out)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert f"support bundle: {out}" in proc.stdout
        status = subprocess.run([sys.executable, "-m", "installer", "status", "--state-dir", str(state)],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        assert f"- release {RELEASE} in {NAMESPACE}: CrashLoopBackOff" in status.stdout
        members = bundle_members(out)
        facts = json.loads(members["cluster/failed-releases.json"])
        pods = facts["namespaces"][NAMESPACE]["pods"]
        assert pods and pods[0]["name"].startswith(RELEASE)
        assert pods[0]["containers"][0]["waiting"] == "CrashLoopBackOff"
        assert pods[0]["containers"][0]["restarts"] == 3
        assert "events" in facts["namespaces"][NAMESPACE]
        journal = json.loads(members["journal.json"])
        assert journal["steps"][0]["details"]["failed_releases"][0]["name"] == RELEASE
        assert any(name.startswith("logs/run-") for name in members)
        for name, content in members.items():
            assert secret.encode() not in content, name
    finally:
        rig.set_rollout(never_ready=[])


def test_bundle_without_a_reachable_cluster_still_writes_and_says_why(tmp_path):
    state = tmp_path / "state"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
        "users": [{"name": "u", "user": {}}]}))

    def fails(ctx):
        raise StepFailed("x never became ready", details={"failed_releases": [{"name": "x", "namespace": "egov"}]})

    def records_kubeconfig(ctx):
        return {"kubeconfig": str(kubeconfig)}

    Engine([Step("provision", "P", records_kubeconfig), Step("deploy", "D", fails, needs=("provision",))],
           answers={}, state_dir=state, install="gone").run()
    from installer.app.support_bundle import write_bundle

    t0 = time.monotonic()
    manifest = write_bundle(state, tmp_path / "b.tar.gz")
    assert time.monotonic() - t0 < 15
    assert any(note.startswith("cluster not reachable: ") for note in manifest["notes"]), manifest["notes"]
    members = bundle_members(tmp_path / "b.tar.gz")
    assert "journal.json" in members and "MANIFEST.json" in members
    assert "cluster/failed-releases.json" not in members
