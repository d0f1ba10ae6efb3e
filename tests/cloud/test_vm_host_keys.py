"""VM host keys made on the jump host: passed to the openstack stack only through its environment, pinned for SSH.

Real parts: OpenSSH's ssh-keygen reads the keys, a real sshd node of the rig serves the key a VM would get
through cloud-init's ssh_keys, and the installer's SSH adapter connects with the pinned fingerprint.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from installer import redact
from installer.answers import load_answers
from installer.provision.cloud.contract import check_stack
from installer.provision.cloud.hostkeys import STORE_NAME, HostKeyStore, vm_names
from installer.provision.cloud.inputs import stack_inputs
from installer.provision.cloud.vms import VmTargetError, vm_target
from installer.provision.cloud.workspace import ASSETS
from tests.cloud.conftest import REPO
from tests.rig.rig import Rig
from tests.wizard.helpers import openssh_private_key

CANARY_OS_PASSWORD = "CanaryOsPw-2c91d7e5a4b34f08"
EXAMPLES = REPO / "assets" / "examples"


def openstack_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ssh: dict | None = None) -> Path:
    monkeypatch.setenv("TEST_OS_PASSWORD", CANARY_OS_PASSWORD)
    (tmp_path / "id_ed25519").write_text(openssh_private_key())
    (tmp_path / "id_ed25519").chmod(0o600)
    answers = yaml.safe_load((EXAMPLES / "openstack-nic.yaml").read_text())
    answers["name"] = "nic-demo"
    answers["sizing"] = {"profile": "dev"}
    answers["target"]["password"] = {"env": "TEST_OS_PASSWORD"}
    answers["target"]["ssh"] = ssh or {"user": "digit", "private_key": {"file": "id_ed25519"}}
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    return path


def ssh_keygen_fingerprint(public: str, tmp_path: Path) -> str:
    pub = tmp_path / "probe.pub"
    pub.write_text(public + "\n")
    return subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)], capture_output=True, text=True,
                          check=True).stdout.split()[1]


def test_each_vm_gets_a_key_made_once_kept_0600_and_readable_by_openssh(tmp_path: Path):
    store = HostKeyStore(tmp_path)
    names = vm_names("nic-demo", 1, 2)
    assert names == ["nic-demo-cp-0", "nic-demo-worker-0", "nic-demo-worker-1"]
    keys = store.ensure(names)
    assert (tmp_path / STORE_NAME).stat().st_mode & 0o777 == 0o600
    assert len({k.fingerprint for k in keys.values()}) == 3
    for key in keys.values():
        assert key.fingerprint == ssh_keygen_fingerprint(key.public_openssh, tmp_path)
        private = tmp_path / "probe"
        private.write_text(key.private_openssh)
        private.chmod(0o600)
        derived = subprocess.run(["ssh-keygen", "-y", "-f", str(private)], capture_output=True, text=True, check=True)
        assert derived.stdout.split()[:2] == key.public_openssh.split()[:2]
        assert redact.mask(key.private_openssh) != key.private_openssh, "a private host key must be masked"
    again = HostKeyStore(tmp_path).ensure(names + ["nic-demo-worker-2"])
    assert all(again[n] == keys[n] for n in names), "a rerun must give the VMs the same keys"
    assert again["nic-demo-worker-2"].fingerprint not in {k.fingerprint for k in keys.values()}


def test_the_stack_gets_the_keys_only_through_its_environment_as_a_sensitive_variable(tmp_path: Path, monkeypatch):
    from installer.profiles import sizing_profile

    answers = load_answers(openstack_answers(tmp_path, monkeypatch))
    state = tmp_path / "state"
    state.mkdir()
    inputs = stack_inputs(answers, sizing_profile("dev", answers.base_dir), state)
    env = inputs.environment()
    keys = json.loads(env["TF_VAR_host_keys"])
    assert sorted(keys) == ["nic-demo-cp-0", "nic-demo-worker-0", "nic-demo-worker-1", "nic-demo-worker-2"]
    stored = HostKeyStore(state).ensure(sorted(keys))
    assert all(keys[name]["private_key"] == stored[name].private_openssh for name in keys)
    assert env["OS_PASSWORD"] == CANARY_OS_PASSWORD
    # the installer's openstack stack keeps the contract with host_keys declared sensitive, and gives each VM its key
    assert check_stack(ASSETS / "openstack", "openstack") == []
    main = (ASSETS / "openstack" / "main.tf").read_text()
    assert main.count("user_data       = local.cloud_init[") == 2 and "ssh_genkeytypes = []" in main
    again = stack_inputs(answers, sizing_profile("dev", answers.base_dir), state).environment()
    assert again["TF_VAR_host_keys"] == env["TF_VAR_host_keys"]


def test_the_vms_become_an_sdc_target_with_their_keys_pinned_and_a_different_pin_is_refused(tmp_path, monkeypatch):
    answers = load_answers(openstack_answers(tmp_path, monkeypatch))
    keys = HostKeyStore(tmp_path).ensure(vm_names("nic-demo", 1, 1))
    nodes = [{"name": "nic-demo-cp-0", "address": "10.30.0.11", "role": "control-plane"},
             {"name": "nic-demo-worker-0", "address": "10.30.0.12", "role": "worker"}]
    target = vm_target(answers.target, nodes, keys)
    assert target.kind == "sdc-vms" and [n.host for n in target.nodes] == ["10.30.0.11", "10.30.0.12"]
    assert target.ssh.host_keys == {"10.30.0.11": keys["nic-demo-cp-0"].fingerprint,
                                    "10.30.0.12": keys["nic-demo-worker-0"].fingerprint}
    with pytest.raises(VmTargetError, match="no installer-made host key for VM"):
        vm_target(answers.target, [*nodes, {"name": "stray-vm", "address": "10.30.0.13", "role": "worker"}], keys)
    other = keys["nic-demo-worker-0"].fingerprint
    pinned_wrong = load_answers(openstack_answers(tmp_path, monkeypatch, ssh={
        "user": "digit", "private_key": {"file": "id_ed25519"}, "host_keys": {"10.30.0.11": other}}))
    with pytest.raises(VmTargetError, match=r"target\.ssh\.host_keys\.10\.30\.0\.11"):
        vm_target(pinned_wrong.target, nodes, keys)


@pytest.fixture(scope="module")
def one_node_rig(tmp_path_factory: pytest.TempPathFactory):
    rig = Rig.up(tmp_path_factory.mktemp("vmrig"), nodes=1, netns=False, rollout_delay=0.2)
    yield rig
    rig.down(quiet=True)


def test_ssh_to_a_vm_started_with_its_key_is_trusted_by_construction_and_another_key_is_refused(
        one_node_rig: Rig, tmp_path: Path):
    """What cloud-init does with ssh_keys (the key written as the node's host key, sshd started) on a real sshd."""
    from installer.adapters.ssh import HostKeyError, HostKeyPolicy, connect, load_private_key

    rig = one_node_rig
    node = rig.nodes[0]
    keys = HostKeyStore(tmp_path).ensure(["vm-0"])
    key_file = rig.node_dir(node) / "ssh_host_ed25519_key"
    rig.stop_node(node.name)
    key_file.write_text(keys["vm-0"].private_openssh)
    key_file.chmod(0o600)
    key_file.with_suffix(".pub").write_text(keys["vm-0"].public_openssh + "\n")
    rig.start_node(node.name)
    client_key = load_private_key(rig.ssh_key_path.read_text())
    answers = yaml.safe_load(rig.answers_path.read_text())
    user = answers["target"]["ssh"]["user"]
    policy = HostKeyPolicy(pinned={node.host: keys["vm-0"].fingerprint}, known_hosts=None, confirm=None)
    with connect(node.host, node.port, user, client_key, policy, timeout=10) as session:
        assert session.run("echo reached").stdout.strip() == "reached"
    stranger = HostKeyStore(tmp_path / "other").ensure(["vm-0"])["vm-0"]
    refusing = HostKeyPolicy(pinned={node.host: stranger.fingerprint}, known_hosts=None, confirm=None)
    with pytest.raises(HostKeyError, match="CHANGED"):
        connect(node.host, node.port, user, client_key, refusing, timeout=10)
