"""The headless pipeline (database -> configure -> deploy -> monitoring -> ci -> verify -> summary) on a rig of its own.

Each run is a separate process, so a rerun seeing the first run's releases proves they live in Helm's storage
(sql driver in the rig's PostgreSQL), not in memory.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO, helm_dsn

pytestmark = pytest.mark.timeout(300)


class Install:
    """One rig, its answers file and a state dir; runs the pipeline in a child process."""

    def __init__(self, rig, tmp_path: Path):
        self.rig = rig
        self.state = tmp_path / "state"
        # The rig's env file carries HELM_DRIVER=sql and its DSN, as an operator's shell would.
        self.env = {**os.environ, "HELM_DRIVER": "sql", "HELM_DRIVER_SQL_CONNECTION_STRING": helm_dsn(rig),
                    **rig.env, "DIGIT_INSTALLER_READINESS_POLL": "0.2", "PYTHONPATH": str(REPO)}

    def edit_answers(self, old: str, new: str) -> None:
        text = self.rig.answers_path.read_text()
        assert old in text, old
        self.rig.answers_path.write_text(text.replace(old, new))

    def run(self, *extra: str) -> tuple[int, list[dict], str]:
        done = subprocess.run([sys.executable, "-m", "tests.deploy.pipeline_driver", "--answers",
                               str(self.rig.answers_path), "--state-dir", str(self.state), "--output", "json", *extra],
                              cwd=REPO, env=self.env, capture_output=True, text=True, timeout=240)
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        return done.returncode, events, done.stdout + done.stderr

    def plan(self) -> dict:
        return json.loads((self.state / "plan" / "plan.json").read_text())

    def manifests(self, names: set[str]) -> dict[str, str]:
        """Fingerprints of the objects the plan rendered for each release."""
        from installer.deploy.digests import manifest_fingerprint

        base = self.state / "plan" / "releases"
        return {name: manifest_fingerprint((base / name / "manifest.yaml").read_text()) for name in names}

    def report(self, label: str = "deploy") -> dict:
        return json.loads((self.state / "deploy-report.json").read_text())[label]

    def step_outputs(self, events: list[dict], step: str) -> dict | None:
        finished = [e for e in events if e["event"] == "step.finished" and e["step"] == step]
        return finished[-1] if finished else None


def dependents(plan: dict, name: str) -> set[str]:
    found, frontier = set(), {name}
    while frontier:
        frontier = {r["name"] for r in plan["releases"] if set(r["waits_for"]) & frontier} - found
        found |= frontier
    return found


def test_full_install_rerun_and_one_changed_value(fresh_rig, tmp_path) -> None:
    rig = fresh_rig(nodes=1, rollout_delay=0.5)
    install = Install(rig, tmp_path)
    install.edit_answers("monitoring: {enabled: false}",
                         "monitoring: {enabled: true, tracing: true, alerts: {email: ops@example.gov.in}}\n"
                         "ci: {jenkins: true}")
    code, events, output = install.run()
    assert code == 0, output

    plan = install.plan()
    names = {r["name"] for r in plan["releases"]}
    addon_names = {"kube-prometheus-stack", "grafana", "jaeger", "jenkins"}
    assert addon_names <= names
    finished = {e["task"]: e["outcome"] for e in events if e["event"] == "task.finished"
                and e["step"] in ("deploy", "monitoring", "ci")}
    assert finished == dict.fromkeys(names, "succeeded")
    progressed = {e["task"] for e in events if e["event"] == "step.progress" and e.get("unit") == "replicas"}
    assert progressed == names

    # Wave order: nothing started before everything it waits for was ready.
    report = install.report()["releases"]
    for release in plan["releases"]:
        if release["name"] in report:
            for need in release["waits_for"]:
                assert report[release["name"]]["started_at"] >= report[need]["ready_at"], (release["name"], need)

    verify = [e for e in events if e["event"] == "step.finished" and e["step"] == "verify"]
    assert verify and verify[0]["outcome"] == "succeeded"
    summary = (install.state / "summary.txt").read_text()
    assert f"https://{rig.fqdn}/grafana/" in summary and "digit-grafana-admin" in summary
    # Logins each get the command that reads them, on a line of its own; keys nobody logs in with
    # (encryption material, Kafka's cluster id) are named once, not spelled out as commands.
    lines = summary.splitlines()
    superuser = lines.index("  DIGIT superuser password:")
    assert lines[superuser + 1].strip().startswith("kubectl -n digit-installer get secret digit-installer-generated")
    assert "enc_master_password" not in "\n".join(line for line in lines if "kubectl" in line)
    assert any(line.startswith("Other generated secrets, in Secret digit-installer/digit-installer-generated: ")
               and "enc_master_password" in line and "kafka_cluster_id" in line for line in lines), summary
    assert summary.count("Debug log: ") == 1
    import re

    assert re.search(r"Releases: (\d+) ready \(\1 installed or upgraded by this run, 0 already as planned\)", summary)
    assert "jenkins_admin_password" not in "\n".join(line for line in lines if "kubectl" in line)  # read from its chart's Secret

    # The generated Grafana password is in its Secret, and nowhere in the summary or the output.
    stored = json.loads((install.state / "generated-secrets.json").read_text())["values"]
    grafana_password = stored["credentials.grafana_admin_password"]
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(rig.kubeconfig_path))
    secret = client.CoreV1Api(api).read_namespaced_secret("digit-grafana-admin", "monitoring")
    assert base64.b64decode(secret.data["admin-password"]).decode() == grafana_password
    assert grafana_password not in summary and grafana_password not in output

    # The monitoring step met CRDs: kube-prometheus-stack's crds/ were installed first, then its objects.
    custom = client.CustomObjectsApi(api)
    found = {plural: sorted(o["metadata"]["name"] for o in custom.list_namespaced_custom_object(
        "monitoring.coreos.com", "v1", "monitoring", plural)["items"])
        for plural in ("prometheuses", "alertmanagers", "servicemonitors", "prometheusrules")}
    assert found == {"prometheuses": ["kube-prometheus-stack-prometheus"],
                     "alertmanagers": ["kube-prometheus-stack-alertmanager"],
                     "servicemonitors": ["kube-prometheus-stack-prometheus"],
                     "prometheusrules": ["kube-prometheus-stack-general.rules"]}

    # A second process with identical answers: every release unchanged, nothing upgraded.
    code, events, output = install.run()
    assert code == 0, output
    again = install.report()
    assert again["unchanged"] == sorted(names - addon_names) and again["deployed"] == []
    assert install.report("monitoring")["unchanged"] == ["grafana", "jaeger", "kube-prometheus-stack"]
    assert again["seconds"] < 15

    # One changed answer upgrades exactly the releases whose objects it changes. DIGIT gives every chart
    # the whole environment file, so the values of all of them change; the rendered objects of few do.
    before = install.manifests(names)
    install.edit_answers("mdms: {url: 'git@github.com:egovernments/egov-mdms-data.git', branch: DEV}",
                         "mdms: {url: 'git@github.com:egovernments/egov-mdms-data.git', branch: UAT}")
    code, events, output = install.run("--resume")
    assert code == 0, output
    after = install.manifests(names)
    reached = {name for name in before if before[name] != after[name]}
    assert reached and reached < names - addon_names
    changed = install.report()
    assert set(changed["deployed"]) == reached
    assert set(changed["unchanged"]) == names - addon_names - reached
    for name in reached:
        assert changed["releases"][name]["action"] == "upgrade" and changed["releases"][name]["revision"] == 2


def test_never_ready_release_fails_safely_then_resume_completes(fresh_rig, tmp_path) -> None:
    rig = fresh_rig(nodes=1, rollout_delay=0.3)
    rig.set_rollout(never_ready={"egov-user": "CrashLoopBackOff"})
    install = Install(rig, tmp_path)
    code, events, output = install.run()
    assert code == 1, output
    assert "egov-user" in output and "CrashLoopBackOff" in output and "simulated by the rig" in output
    failed = install.step_outputs(events, "deploy")
    assert failed["outcome"] == "failed" and "--resume" in failed["remediation"]

    plan = install.plan()
    names = {r["name"] for r in plan["releases"]}
    blocked = dependents(plan, "egov-user")
    assert "egov-hrms" in blocked
    report = install.report()
    assert report["failed"] == ["egov-user"]
    assert set(report["skipped"]) == blocked
    assert set(report["deployed"]) == names - blocked - {"egov-user"}
    assert report["releases"]["egov-user"]["reason"] == "CrashLoopBackOff"
    assert report["releases"]["egov-user"]["seconds"] < 30  # reported at once, not after the 900 s timeout
    assert not any(e["event"] == "step.started" and e["step"] == "verify" for e in events)

    rig.set_rollout(never_ready=[])
    code, events, output = install.run("--resume")
    assert code == 0, output
    resumed = install.report()
    assert set(resumed["deployed"]) == blocked
    # The failed first install was kept for diagnosis (uninstalling it is opt-in); its values did not
    # change, so it is not upgraded, only watched until it is ready.
    assert set(resumed["unchanged"]) == names - blocked
    assert resumed["releases"]["egov-user"]["ready_at"] <= min(resumed["releases"][n]["started_at"] for n in blocked)
