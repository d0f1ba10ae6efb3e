"""openstack on the stand-in cloud: Terraform makes the VMs (each booting with the host key the installer made for
it), RKE2 is installed on them over SSH with those keys pinned (the rig's RKE2 stand-ins), then DIGIT is deployed.

Real parts: Terraform 1.0.3, the stand-in provider (ours) whose VMs are the bare rig's sshd nodes, sshd, the
installer's SSH client, PostgreSQL and the Kubernetes API emulator the RKE2 stand-in hands back.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.cloud.conftest import REPO, CloudInstall
from tests.rig.rig import Rig, netns_available

pytestmark = [pytest.mark.timeout(900),
              pytest.mark.skipif(not netns_available(), reason="the bare rig needs network namespaces")]
STACK = REPO / "tests" / "cloud" / "stack_openstack"
CANARY_OS_PASSWORD = "CanaryOsPw-9a7c1e3b5d2f4e60"


@pytest.fixture(scope="module")
def bare_rig(tmp_path_factory: pytest.TempPathFactory):
    rig = Rig.up(tmp_path_factory.mktemp("osrig"), nodes=2, bare=True, roles=["control-plane", "worker"],
                 rollout_delay=0.2)
    yield rig
    rig.down(quiet=True)


def test_openstack_vms_get_rke2_over_ssh_with_host_keys_pinned_by_construction(bare_rig: Rig, standin_mirror: Path,
                                                                               tmp_path: Path):
    rig = bare_rig
    name = "os-standin"
    cloud = tmp_path / "cloud"
    cloud.mkdir()
    before = {node.name: node.host_key_fingerprint for node in rig.nodes}
    vm_nodes = {f"{name}-{vm}": {"key_path": str(rig.node_dir(node) / "ssh_host_ed25519_key"),
                                 "pid_file": str(rig.dir / "nodes" / node.name / "sshd.pid"),
                                 "address": node.host, "port": node.port}
                for vm, node in zip(("cp-0", "worker-0"), rig.nodes, strict=True)}
    (cloud / "settings.json").write_text(json.dumps({"vm_nodes": vm_nodes}))
    base = yaml.safe_load(rig.answers_path.read_text())
    sdc = base["target"]
    base["name"] = name
    base["target"] = {
        "kind": "openstack", "auth_url": "https://keystone.standin.invalid:5000/v3", "region": "RegionOne",
        "project": "digit", "username": "digit", "password": {"env": "TEST_OS_PASSWORD"},
        "provider_mirror": str(standin_mirror),
        "ssh": {"user": sdc["ssh"]["user"], "private_key": sdc["ssh"]["private_key"], "connect_timeout": 5},
        "rke2": sdc["rke2"],
        "terraform": {"stack": str(STACK), "variables": {"standin_dir": str(cloud)}},
    }
    base["sizing"] = {"profile": "dev", "allow_undersized": True,
                      "overrides": {"workers": 1, "control_planes": 1, "kafka_volume_gb": 1, "zookeeper_volume_gb": 1,
                                    "es_data_volume_gb": 1, "es_master_volume_gb": 1, "postgres_volume_gb": 1,
                                    "filestore_volume_gb": 1}}
    answers = rig.dir / "answers-openstack.yaml"
    answers.write_text(yaml.safe_dump(base, sort_keys=False))
    state = tmp_path / "state"
    env = {**os.environ, **rig.env, "PYTHONPATH": str(REPO), "DIGIT_INSTALLER_READINESS_POLL": "0.2",
           "DIGIT_INSTALLER_NODE_READY_TIMEOUT": "60", "TEST_OS_PASSWORD": CANARY_OS_PASSWORD}
    run = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "installer", "--answers", str(answers),
                          "--yes", "--state-dir", str(state), "--output", "json"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=800)
    events = CloudInstall.events(run.stdout)
    steps = {e["step"]: e.get("outcome") for e in events if e["event"] == "step.finished"}
    failures = [e.get("message") for e in events if e["event"] == "step.finished" and e.get("outcome") == "failed"]
    assert steps.get("provision") == "succeeded", (steps, failures, run.stderr[-2000:])

    # Each VM booted with the key the installer made for it, and the SSH step trusted exactly that key.
    keys = json.loads((state / "vm-host-keys.json").read_text())["keys"]
    booted = [json.loads(line) for line in (cloud / "journal.jsonl").read_text().splitlines()
              if '"vm.booted"' in line]
    assert {b["name"]: b["public_key"] for b in booted} == {n: k["public"] for n, k in keys.items()}
    after = {node.name: subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f",
                                        str(rig.node_dir(node) / "ssh_host_ed25519_key.pub")],
                                       capture_output=True, text=True, check=True).stdout.split()[1]
             for node in rig.nodes}
    assert set(after.values()).isdisjoint(before.values()), "the VMs must serve the installer's keys, not their own"
    provision = json.loads((state / "journal.json").read_text())["steps"]
    record = provision["provision"] if isinstance(provision, dict) else next(s for s in provision if s["id"] == "provision")
    out = record["outputs"]
    assert [n["name"] for n in out["nodes"]] == [f"{name}-cp-0", f"{name}-worker-0"]
    assert Path(out["kubeconfig"]).stat().st_mode & 0o777 == 0o600
    # the private host keys reached Terraform only through its environment: never its argv, logs or our files
    for path in [*(state / "terraform" / "logs").glob("*"), state / "journal.json", *cloud.rglob("*.json")]:
        text = path.read_text(errors="replace")
        assert all(k["private"].splitlines()[1] not in text for k in keys.values()), path
    assert CANARY_OS_PASSWORD not in run.stdout + run.stderr
    assert steps.get("deploy") == "succeeded", (steps, failures)

    # A rerun changes nothing: the same keys reach the stack, so no VM is replaced, and RKE2 is left alone.
    rerun = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "installer", "--answers", str(answers),
                            "--yes", "--state-dir", str(state), "--output", "json"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=800)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    creates = [json.loads(line) for line in (cloud / "journal.jsonl").read_text().splitlines()]
    assert sum(1 for e in creates if e["event"] == "create.done" and e["kind"] == "vm") == 2
    assert not any(e["event"] == "delete" for e in creates)
