"""From bare SSH nodes to a deployed sample DIGIT, headless, on the rig's RKE2 stand-ins (tests/rig/standin).

What this proves: the commands and files the installer gives RKE2 (artifacts, install.sh's contract,
config.yaml, systemctl, the order of starts, the token's path) and that every later step works from the
kubeconfig provisioning saved. What it cannot: kubelet, etcd quorum, CNI or image import (see tests/rig/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from installer.provision.config import CONTROL_PLANE_TAINT
from tests.provision.driver import REPO, BareInstall, mode

pytestmark = pytest.mark.timeout(900)
CANARY = "CANARYrke2tokenZZ9d41f0c6b2"
CONFIG = "/etc/rancher/rke2/config.yaml"


def seed_token(state: Path, value: str) -> None:
    """The secret store's generated token, fixed to a canary so every place it could leak can be searched."""
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state / "generated-secrets.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"version": 1, "values": {"target.rke2.token": value}}, f)


def files_holding(roots: list[Path], needle: bytes) -> dict[Path, int]:
    found = {}
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    if needle in path.read_bytes():
                        found[path] = mode(path)
                except OSError:
                    pass
    return found


def test_one_server_from_bare_node_to_digit_then_a_rerun_changes_nothing_and_the_token_never_leaks(
        fresh_rig, tmp_path) -> None:
    rig = fresh_rig(nodes=1, bare=True, rollout_delay=0.2)
    install = BareInstall(rig, tmp_path / "state")
    seed_token(install.state, CANARY)

    first = install.run()
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "(release profile digit-sample)" in first.stdout

    # One cluster, started from the node's own config; RKE2 installed from the staged artifacts.
    assert len(install.events("rke2", "cluster-init")) == 1
    assert not install.events("rke2", "split-brain")
    assert [e["type"] for e in install.events("install.sh", "installed")] == ["server"]
    config = install.node_file("n1", CONFIG)
    assert mode(config) == 0o600
    text = config.read_text()
    assert f'token: "{CANARY}"' in text and "server:" not in text
    assert f'tls-san: ["{rig.node("n1").host}"]' in text and 'node-name: "n1"' in text
    assert CONTROL_PLANE_TAINT not in text  # a single node runs DIGIT itself: no dedicated control plane

    # The kubeconfig: 0600 in the state directory, at the registration address, verified by the cluster's CA.
    outputs = install.outputs("provision")
    kubeconfig = Path(outputs["kubeconfig"])
    assert kubeconfig == install.state / "kubeconfig" and mode(kubeconfig) == 0o600
    assert json.loads(kubeconfig.read_text())["clusters"][0]["cluster"]["server"] == f"https://{rig.node('n1').host}:6443"
    from installer.provision.cluster import node_readiness

    assert node_readiness(kubeconfig) == {"n1": True}

    # Storage: the static volumes' host directories, owned by the workload's user, with the install's marker.
    directories = install.outputs("storage")["directories"]["n1"]
    assert directories
    for path in directories:
        host = install.node_file("n1", path)
        assert host.is_dir() and mode(host) == 0o770 and host.stat().st_uid == 1000
        assert (host / ".digit-installer-volume").read_text().startswith(f"install={json_name(rig)}\n")

    # A rerun: nothing installed, started or restarted; config files unchanged.
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (config,)}
    count = len(rig.events())
    again = install.run()
    assert again.returncode == 0, again.stdout[-3000:]
    later = rig.events()[count:]
    assert not [e for e in later if e["who"] == "install.sh"]
    assert not [e for e in later if e["who"] == "systemctl" and e["event"] in ("spawned", "stopped")]
    assert not [e for e in later if e["who"] == "systemctl" and set(e["argv"]) & {"start", "restart", "enable"}]
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in before} == before
    provision = install.outputs("provision")
    assert provision["installed"] == [] and provision["configured"] == [] and provision["restarted"] == []

    # The canary: only in 0600 files that must hold it; nowhere in output, logs, journal, bundle, argv, env.
    bundle = tmp_path / "bundle.tar.gz"
    made = subprocess.run([str(REPO / "install.sh"), "support-bundle", "--answers", str(rig.answers_path),
                           "--state-dir", str(install.state), "-o", str(bundle)], cwd=REPO, env=install.env,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    for run in (first, again, made):
        assert CANARY not in run.stdout + run.stderr
    with tarfile.open(bundle) as tar:
        for member in tar.getmembers():
            if member.isfile():
                assert CANARY.encode() not in tar.extractfile(member).read(), member.name
    for event in rig.events():
        assert CANARY not in json.dumps(event), event
    node = rig.node_dir(rig.node("n1"))
    holders = files_holding([install.state, rig.dir, node, Path("/home/digitrig")], CANARY.encode())
    allowed = {install.state / "generated-secrets.json", config,
               install.node_file("n1", "/var/lib/rancher/rke2/server/token"),
               install.node_file("n1", "/var/lib/rancher/rke2/server/node-token")}
    assert set(holders) == allowed, holders
    assert set(holders.values()) == {0o600}


def json_name(rig) -> str:
    return f"rig-{rig.rig_id}"
