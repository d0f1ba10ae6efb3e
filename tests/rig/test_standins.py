"""The RKE2 stand-ins keep RKE2's contract (tests/rig/standin): checksums, token, split-brain, one clock."""

from __future__ import annotations

import subprocess

import pytest

from tests.rig.rig import SSH_USER, Rig

pytestmark = pytest.mark.timeout(300)
ARTIFACTS = "/var/lib/rancher/art"


def ssh(rig: Rig, node: str, command: str) -> subprocess.CompletedProcess:
    target = rig.node(node)
    return subprocess.run(
        ["ssh", "-i", str(rig.ssh_key_path), "-p", str(target.port), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
         "-o", "ConnectTimeout=5", f"{SSH_USER}@{target.host}", command], capture_output=True, text=True, timeout=120)


def install(rig: Rig, node: str, kind: str, config: str) -> subprocess.CompletedProcess:
    return ssh(rig, node, f"sudo mkdir -p {ARTIFACTS} /etc/rancher/rke2 && sudo sh -c 'cp {rig.artifacts_path}/* {ARTIFACTS}/' && "
                          f"sudo env INSTALL_RKE2_ARTIFACT_PATH={ARTIFACTS} INSTALL_RKE2_TYPE={kind} sh {ARTIFACTS}/install.sh"
                          f" && printf '{config}' | sudo tee /etc/rancher/rke2/config.yaml >/dev/null")


def test_token_refusal_split_brain_checksums_and_one_clock(fresh_rig) -> None:
    rig = fresh_rig(nodes=3, bare=True)
    n1 = rig.node("n1").host
    # A damaged tarball is refused by install.sh itself.
    bad = ssh(rig, "n3", f"sudo mkdir -p {ARTIFACTS} && sudo sh -c 'cp {rig.artifacts_path}/* {ARTIFACTS}/' && "
                         f"echo x | sudo tee -a {ARTIFACTS}/rke2.linux-amd64.tar.gz >/dev/null && "
                         f"sudo env INSTALL_RKE2_ARTIFACT_PATH={ARTIFACTS} sh {ARTIFACTS}/install.sh")
    assert bad.returncode == 1 and "sha256 does not match" in bad.stderr
    assert not rig.node_root(rig.node("n3"), "/usr/local/bin/rke2").exists()

    assert install(rig, "n1", "server", f"token: right\\ntls-san: [{n1}]\\n").returncode == 0
    assert ssh(rig, "n1", "sudo systemctl enable --now rke2-server").returncode == 0
    token = rig.node_root(rig.node("n1"), "/var/lib/rancher/rke2/server/node-token")
    assert token.stat().st_mode & 0o777 == 0o600 and token.read_text().startswith("K10")
    assert token.read_text().strip().endswith("::server:right")
    kubeconfig = rig.node_root(rig.node("n1"), "/etc/rancher/rke2/rke2.yaml")
    assert kubeconfig.stat().st_mode & 0o777 == 0o600 and "https://127.0.0.1:6443" in kubeconfig.read_text()

    # A wrong token is refused; the right one joins and adds a Ready Node.
    assert install(rig, "n2", "agent", f"token: wrong\\nserver: https://{n1}:9345\\n").returncode == 0
    refused = ssh(rig, "n2", "sudo systemctl enable --now rke2-agent")
    assert refused.returncode == 1
    assert ssh(rig, "n2", f"printf 'token: right\\nserver: https://{n1}:9345\\n' | sudo tee /etc/rancher/rke2/config.yaml"
                          " >/dev/null && sudo systemctl start rke2-agent").returncode == 0
    assert ssh(rig, "n2", "sudo systemctl is-active rke2-agent").stdout.strip() == "active"

    # A second node initialising a cluster of its own is recorded as split-brain.
    assert install(rig, "n3", "server", "token: other\\n").returncode == 0
    assert ssh(rig, "n3", "sudo systemctl start rke2-server").returncode == 0

    events = rig.events()
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    refusals = [e for e in events if e["event"] == "join-refused"]
    assert [(e["node"], e["name"], e["reason"]) for e in refusals] == [("n1", "n2", "token")]
    joins = [e for e in events if e["event"] == "join"]
    assert [(e["name"], e["role"], e["new_node"]) for e in joins] == [("n2", "agent", True)]
    assert [e["node"] for e in events if e["event"] == "cluster-init"] == ["n1", "n3"]
    assert [e["initialised_before"] for e in events if e["event"] == "split-brain"] == [["n1"]]
    assert any(e["who"] == "install.sh" and e["event"] == "called" and e["env"].get("INSTALL_RKE2_TYPE") == "agent"
               for e in events)
