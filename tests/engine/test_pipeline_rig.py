"""The real pipeline, headless, against the rig: kill -9 anywhere then --resume, late answer changes, no leaks."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
HELM_DATABASE = "helm_releases"
# SIGINT is a cooperative Ctrl+C in the middle of deploy; every other point is a kill -9 by the test hook.
KILL_CHAIN = ["after:validate", "progress:preflight:2", "after:preflight", "progress:configure:2", "after:configure",
              "SIGINT", "progress:deploy:20", "after:deploy", "after:monitoring", "after:verify", "after:summary"]
VOLATILE_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink")


class Install:
    """One rig with an answers file (monitoring on) and a state dir, driven through ./install.sh."""

    def __init__(self, rig, base: Path) -> None:
        self.rig = rig
        self.state = base / "state"
        self.answers = rig.dir / "answers-engine.yaml"
        self.set_alert_email("ops@example.org")
        with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (HELM_DATABASE,)).fetchone():
                conn.execute(f"CREATE DATABASE {HELM_DATABASE}")
        self.helm_dsn = rig.pg_dsn_admin.replace("dbname=postgres", f"dbname={HELM_DATABASE}") + " sslmode=disable"
        self.outputs: list[str] = []

    def set_alert_email(self, email: str) -> None:
        text = self.rig.answers_path.read_text()
        assert "monitoring: {enabled: false}" in text
        self.answers.write_text(text.replace("monitoring: {enabled: false}",
                                             f"monitoring: {{enabled: true, alerts: {{email: {email}}}}}"))

    def env(self, **extra: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIT_INSTALLER_TEST")}
        env.update({"HELM_DRIVER": "sql", "HELM_DRIVER_SQL_CONNECTION_STRING": self.helm_dsn})
        env.update(self.rig.env)
        env.update({"PYTHONPATH": str(ROOT), "DIGIT_INSTALLER_READINESS_POLL": "0.1"})
        env.update(extra)
        return env

    def run(self, *args: str, output: str = "plain", **env: str) -> subprocess.CompletedProcess:
        argv = [str(ROOT / "install.sh"), "--answers", str(self.answers), "--state-dir", str(self.state),
                "--output", output, *args]
        proc = subprocess.run(argv, cwd=ROOT, env=self.env(**env), capture_output=True, text=True, timeout=150)
        self.outputs.append(proc.stdout + proc.stderr)
        return proc

    def journal(self) -> dict:
        return {s["id"]: s for s in json.loads((self.state / "journal.json").read_text())["steps"]}

    def site_values(self) -> dict[str, str]:
        """Values that differ between two rigs by construction: rig id, database port, generated secrets."""
        store = self.state / "generated-secrets.json"
        generated = json.loads(store.read_text())["values"] if store.exists() else {}
        values = {value: f"<generated {key}>" for key, value in generated.items()}
        values.update({self.rig.rig_id: "RIG", f":{self.rig.pg_port}/": ":PGPORT/"})
        return values

    def cluster_state(self) -> dict:
        """Every object that matters, without server-set fields, status, pods or secret values."""
        from kubernetes import client, config

        api = config.new_client_from_config(config_file=str(self.rig.kubeconfig_path), context="digit-rig")
        serialize = api.sanitize_for_serialization
        core, apps, batch = client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api)
        listings = {
            "Namespace": core.list_namespace, "ConfigMap": core.list_config_map_for_all_namespaces,
            "Secret": core.list_secret_for_all_namespaces, "Service": core.list_service_for_all_namespaces,
            "PersistentVolume": core.list_persistent_volume,
            "PersistentVolumeClaim": core.list_persistent_volume_claim_for_all_namespaces,
            "Deployment": apps.list_deployment_for_all_namespaces,
            "StatefulSet": apps.list_stateful_set_for_all_namespaces, "Job": batch.list_job_for_all_namespaces,
        }
        state = {}
        for kind, listing in listings.items():
            for item in listing(_request_timeout=10).items:
                obj = serialize(item)
                meta = obj.get("metadata", {})
                for key in VOLATILE_META:
                    meta.pop(key, None)
                obj.pop("status", None)
                if kind == "Secret":
                    obj["data"] = sorted((obj.get("data") or {}).keys())
                text = json.dumps(obj, sort_keys=True)
                for value, placeholder in self.site_values().items():
                    text = text.replace(value, placeholder)
                state[f"{kind}/{meta.get('namespace', '')}/{meta['name']}"] = json.loads(text)
        return state


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """An uninterrupted install on a rig of its own; its end state is what every resumed install must reach."""
    from tests.rig.rig import Rig

    rig = Rig.up(tmp_path_factory.mktemp("rig-baseline"), nodes=3, rollout_delay=0)
    try:
        install = Install(rig, tmp_path_factory.mktemp("baseline"))
        proc = install.run(output="json")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
        yield install, install.cluster_state()
    finally:
        rig.down(quiet=True)


def leaf_diff(a, b, path: str = "") -> list[str]:
    """Where two JSON values differ, as 'path: a != b' lines (for a readable failure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [line for key in sorted(set(a) | set(b)) for line in leaf_diff(a.get(key), b.get(key), f"{path}.{key}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [line for i, (x, y) in enumerate(zip(a, b, strict=False)) for line in leaf_diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def assert_no_secret(install: Install, text: str, where: str) -> None:
    secret = install.rig.env["DIGIT_DB_PASSWORD"]
    assert secret not in text, f"the database password leaked into {where}"


def test_uninterrupted_run_reports_every_step_as_json(baseline):
    install, state = baseline
    events = [json.loads(line) for line in install.outputs[0].splitlines() if line.startswith("{")]
    finished = {e["step"]: e["outcome"] for e in events if e["event"] == "step.finished"}
    assert finished == dict.fromkeys(["validate", "preflight", "database", "configure", "deploy", "monitoring", "verify",
                                      "summary"], "succeeded")
    assert events[-1]["event"] == "run.finished" and events[-1]["exit_code"] == 0
    assert any(key.startswith("Deployment/egov/") for key in state)
    assert any(e["event"] == "step.progress" and e["task"] for e in events)


def interrupt_deploy(install: Install) -> None:
    """Ctrl+C while releases roll out slowly: deploy stops cooperatively, is journalled interrupted, exit 130."""
    install.rig.set_rollout(delay=3)
    try:
        argv = [str(ROOT / "install.sh"), "--answers", str(install.answers), "--state-dir", str(install.state),
                "--output", "plain", "--resume"]
        proc = subprocess.Popen(argv, cwd=ROOT, env=install.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and install.journal().get("deploy", {}).get("outcome") != "running":
            time.sleep(0.1)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=60)
        install.outputs.append(out + err)
        assert proc.returncode == 130, out[-3000:] + err[-3000:]
        assert time.monotonic() - sent < 20
        record = install.journal()["deploy"]
        assert (record["outcome"], record["message"]) == ("interrupted", "SIGINT received"), record
    finally:
        install.rig.set_rollout(delay=0)


def test_kill_9_at_every_boundary_and_mid_step_then_resume_reaches_the_baseline(baseline, fresh_rig, tmp_path):
    _, expected = baseline
    install = Install(fresh_rig(nodes=3, rollout_delay=0), tmp_path)
    untouched = install.cluster_state()
    proc = install.run("--dry-run")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "[deploy] egov-user: would install egov-user in egov" in proc.stdout
    assert install.cluster_state() == untouched
    assert not (install.state / "journal.json").exists()
    assert not (install.state / "generated-secrets.json").exists()
    faces = ["plain", "rich", "json"]
    for index, point in enumerate(KILL_CHAIN):
        args = ("--resume",) if index else ()
        if point == "SIGINT":
            interrupt_deploy(install)
            continue
        proc = install.run(*args, output=faces[index % 3], DIGIT_INSTALLER_TEST_KILL_AT=point)
        assert proc.returncode == -signal.SIGKILL, (point, proc.stdout[-3000:], proc.stderr[-3000:])
    proc = install.run("--resume")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "resuming from" in proc.stdout or "nothing to rerun" in proc.stdout
    assert all(r["outcome"] == "succeeded" for r in install.journal().values())
    actual = install.cluster_state()
    assert sorted(actual) == sorted(expected)
    different = [key for key in expected if actual[key] != expected[key]]
    assert not different, {k: leaf_diff(expected[k], actual[k]) for k in different}
    for index, text in enumerate(install.outputs):
        assert_no_secret(install, text, f"output of run {index}")
    for path in install.state.rglob("*"):
        if path.is_file():
            assert install.rig.env["DIGIT_DB_PASSWORD"].encode() not in path.read_bytes(), path


def test_late_answer_change_reruns_only_monitoring_and_its_dependents(baseline):
    install, _ = baseline
    before = install.journal()
    install.set_alert_email("alerts@example.org")
    try:
        proc = install.run("--resume")
    finally:
        install.set_alert_email("ops@example.org")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    after = install.journal()
    rerun = [s for s in after if after[s]["started"] != before[s]["started"]]
    plan = next(line for line in proc.stdout.splitlines() if "resuming from" in line)
    assert rerun == ["validate", "monitoring", "verify", "summary"], plan
    assert "rerun monitoring (inputs changed: monitoring)" in proc.stdout
    assert "skip deploy (succeeded" in proc.stdout


def test_status_and_support_bundle_after_a_full_install(baseline, tmp_path):
    install, _ = baseline
    status = subprocess.run([str(ROOT / "install.sh"), "status", "--answers", str(install.answers),
                             "--state-dir", str(install.state)], cwd=ROOT, env=install.env(),
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    assert "every step succeeded" in status.stdout
    bundle = tmp_path / "bundle.tar.gz"
    proc = subprocess.run([str(ROOT / "install.sh"), "support-bundle", "--answers", str(install.answers),
                           "--state-dir", str(install.state), "-o", str(bundle)], cwd=ROOT, env=install.env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    secret = install.rig.env["DIGIT_DB_PASSWORD"].encode()
    with tarfile.open(bundle) as tar:
        names = [m.name.split("/", 1)[1] for m in tar.getmembers()]
        for member in tar.getmembers():
            assert secret not in tar.extractfile(member).read(), member.name
    assert {"journal.json", "answers.yaml", "reports/deploy-report.json", "MANIFEST.json"} <= set(names)
    assert any(name.startswith("preflight/") for name in names)


def test_failing_run_under_every_face_leaks_nothing_and_the_bundle_shows_the_failed_pods(baseline, tmp_path):
    from tests.engine.test_headless import run_in_pty

    installed, _ = baseline
    generated = list(json.loads((installed.state / "generated-secrets.json").read_text())["values"].values())
    secrets = [installed.rig.env["DIGIT_DB_PASSWORD"], *generated]
    install = Install(installed.rig, tmp_path)
    install.rig.set_rollout(never_ready=["egov-user"])
    try:
        texts = []
        for output in ("plain", "json"):
            proc = install.run(output=output)
            assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr
            texts.append(proc.stdout + proc.stderr)
        argv = [str(ROOT / "install.sh"), "--answers", str(install.answers), "--state-dir", str(install.state),
                "--output", "rich", "--yes"]
        code, screen = run_in_pty(argv, install.env())
        assert code == 1, screen[-3000:]
        texts.append(screen)
        assert "egov-user" in texts[0] and "failed" in texts[0]
        bundle = tmp_path / "bundle.tar.gz"
        proc = subprocess.run([str(ROOT / "install.sh"), "support-bundle", "--answers", str(install.answers),
                               "--state-dir", str(install.state), "-o", str(bundle)], cwd=ROOT, env=install.env(),
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        texts.append(proc.stdout + proc.stderr)
        with tarfile.open(bundle) as tar:
            members = {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    finally:
        install.rig.set_rollout(never_ready=[])
    facts = json.loads(members["cluster/failed-releases.json"])
    pods = facts["namespaces"]["egov"]["pods"]
    assert pods and all(p["name"].startswith("egov-user") for p in pods)
    assert pods[0]["containers"][0]["waiting"] == "CrashLoopBackOff"
    for secret in secrets:
        for index, text in enumerate(texts):
            assert secret not in text, f"a secret leaked into output {index}"
        for name, content in members.items():
            assert secret.encode() not in content, f"a secret leaked into {name} of the bundle"
        for path in install.state.rglob("*"):
            if path.is_file() and path.name != "generated-secrets.json":
                assert secret.encode() not in path.read_bytes(), path
