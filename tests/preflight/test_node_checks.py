"""Every node check fails on purpose on a rig node that reports the matching fact; host-key policy."""
from __future__ import annotations

import subprocess
import time

import pytest

from installer.adapters.ssh import HostKeyPolicy, connect, load_private_key
from tests.preflight.helpers import edited_answers, problems, run_cli
from tests.preflight.helpers import run_inprocess
from tests.rig.rig import SSH_USER

SHARED_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def odd_rig(tmp_path_factory):
    from tests.rig.rig import Rig

    rig = Rig.up(tmp_path_factory.mktemp("odd"), nodes=3, rollout_delay=0, facts=[
        "n1:max_map_count=65530", "n1:clock_skew=30", "n1:dns=off", "n1:kernel=3.10.0-1160.el7",
        "n2:sudo=password", "n2:modules=overlay", "n2:os=centos:7", f"n2:machine_id={SHARED_ID}",
        "n3:disk_gb=10", "n3:memory_gb=4", f"n3:machine_id={SHARED_ID}", "n3:clock_skew=2",
    ])
    yield rig
    rig.down()


def test_each_fact_fails_its_own_check(odd_rig) -> None:
    code, report, _, _ = run_inprocess(odd_rig, "--only", "node")
    assert code == 1
    assert problems(report) == {
        ("node.max_map_count", "n1"), ("node.clock", "n1"), ("node.dns", "n1"), ("node.kernel", "n1"),
        ("node.sudo", "n2"), ("node.kernel_modules", "n2"), ("node.machine_id", "n2"),
        ("node.disk", "n3:/var/lib"), ("node.memory", "n3"), ("node.machine_id", "n3"),
    }, [(c["target"], c["measured"], c["message"]) for c in report["checks"] if c["id"] == "node.ssh"]
    assert problems(report, "warn") == {("node.os", "n2"), ("node.clock", "n3")}
    checks = {(c["id"], c["target"]): c for c in report["checks"]}
    assert checks["node.max_map_count", "n1"]["measured"] == "65530"
    assert "missing br_netfilter" in checks["node.kernel_modules", "n2"]["measured"]
    assert "sysctl -w vm.max_map_count=262144" in checks["node.max_map_count", "n1"]["remediation"]
    assert f"{SSH_USER} ALL=(ALL) NOPASSWD:ALL" in checks["node.sudo", "n2"]["remediation"]
    assert "+30" in checks["node.clock", "n1"]["measured"]
    assert checks["node.disk", "n3:/var/lib"]["measured"] == "10 GB free"


def test_live_fact_change_is_seen_on_the_next_run(odd_rig) -> None:
    odd_rig.set_fact("n1", "max_map_count", "262144")
    try:
        _, report, _, _ = run_inprocess(odd_rig, "--only", "node.max_map_count")
        assert problems(report) == set()
        assert {c["id"] for c in report["checks"]} == {"node.max_map_count"}
    finally:
        odd_rig.set_fact("n1", "max_map_count", "65530")


def test_unknown_host_key_is_refused_headless_with_its_fingerprint(odd_rig) -> None:
    answers = edited_answers(odd_rig, "answers-unpinned.yaml", lambda d: d["target"]["ssh"].pop("host_keys"))
    code, out, err, _ = run_cli(odd_rig, "--only", "node.host_key,node.ssh", answers=answers)
    assert code == 1
    assert "unknown host key, refused" in out and "PASS" not in out
    for node in odd_rig.nodes:
        assert f'"{node.host}": "{node.host_key_fingerprint}"' in err
    code, report, _, _ = run_inprocess(odd_rig, "--only", "node.host_key", answers=answers)
    assert {c["details"]["fingerprint"] for c in report["checks"]} == {n.host_key_fingerprint for n in odd_rig.nodes}


def test_known_hosts_file_is_honoured(odd_rig) -> None:
    known = odd_rig.dir / "known_hosts"
    lines = []
    for node in odd_rig.nodes:
        scan = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(node.port), node.host],
                              capture_output=True, text=True, timeout=20)
        lines.append(scan.stdout.strip())
    known.write_text("\n".join(lines) + "\n")

    def use_known_hosts(data) -> None:
        data["target"]["ssh"].pop("host_keys")
        data["target"]["ssh"]["known_hosts"] = "known_hosts"

    answers = edited_answers(odd_rig, "answers-known.yaml", use_known_hosts)
    code, report, _, _ = run_inprocess(odd_rig, "--only", "node.host_key,node.ssh", answers=answers)
    assert code == 0, report
    impostor = lines[1].replace(odd_rig.node("n2").host, odd_rig.node("n1").host, 1)
    known.write_text("\n".join([impostor, *lines[1:]]) + "\n")
    code, report, _, _ = run_inprocess(odd_rig, "--only", "node.host_key", answers=answers)
    assert problems(report) == {("node.host_key", "n1")}
    assert "CHANGED" in next(c["message"] for c in report["checks"] if c["target"] == "n1")


def test_wizard_confirmation_decides_unknown_keys_and_is_never_assumed(odd_rig) -> None:
    node = odd_rig.node("n1")
    key = load_private_key(odd_rig.ssh_key_path.read_text())
    asked = []

    def decline(host, port, fingerprint):
        asked.append((host, port, fingerprint))
        return False

    with pytest.raises(Exception, match="unknown"):
        connect(node.host, node.port, SSH_USER, key, HostKeyPolicy(confirm=decline), timeout=5)
    assert asked == [(node.host, node.port, node.host_key_fingerprint)]
    policy = HostKeyPolicy(confirm=lambda host, port, fingerprint: fingerprint == node.host_key_fingerprint)
    with connect(node.host, node.port, SSH_USER, key, policy, timeout=5) as session:
        assert session.run("echo ok").stdout.strip() == "ok"
    assert policy.pinned == {node.host: node.host_key_fingerprint}


def test_busy_kubernetes_port_fails_on_sdc_vms(odd_rig) -> None:
    node = odd_rig.node("n2")
    key = load_private_key(odd_rig.ssh_key_path.read_text())
    policy = HostKeyPolicy(pinned={node.host: node.host_key_fingerprint})

    def as_sdc_vms(data) -> None:
        target = data["target"]
        for field in ("kubeconfig", "context"):
            target.pop(field)
        target["kind"] = "sdc-vms"
        data["sizing"]["profile"] = "sdc-dev"

    answers = edited_answers(odd_rig, "answers-sdc.yaml", as_sdc_vms)
    with connect(node.host, node.port, SSH_USER, key, policy, timeout=5) as session:
        # The listener says when it listens: on a loaded machine python3 takes longer than any fixed sleep.
        session.run("rm -f /tmp/busy-10250.ready; nohup python3 -c 'import socket,time; s=socket.socket(); "
                    "s.bind((\"0.0.0.0\", 10250)); s.listen(); open(\"/tmp/busy-10250.ready\", \"w\").close(); "
                    "time.sleep(60)' >/dev/null 2>&1 & echo started")
        deadline = time.monotonic() + 30
        while session.run("test -e /tmp/busy-10250.ready && echo yes || true").stdout.strip() != "yes":
            assert time.monotonic() < deadline, "the listener on port 10250 never started"
            time.sleep(0.05)
        try:
            code, report, _, _ = run_inprocess(odd_rig, "--only", "node.ports", answers=answers)
        finally:
            session.run("pkill -u $(id -u) -f 'time.sleep\\(60\\)' || true")
    assert code == 1
    assert problems(report) == {("node.ports", "n2")}
    assert "10250" in next(c["measured"] for c in report["checks"] if c["target"] == "n2")
    assert not any(c["id"].startswith("k8s.") for c in report["checks"])


def test_key_the_nodes_do_not_know_fails_node_ssh(odd_rig) -> None:
    stranger = odd_rig.dir / "ssh" / "stranger"
    stranger.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True, timeout=30)
    answers = edited_answers(odd_rig, "answers-stranger.yaml",
                             lambda d: d["target"]["ssh"].__setitem__("private_key", {"file": "ssh/stranger"}))
    code, report, _, _ = run_inprocess(odd_rig, "--only", "node.host_key,node.ssh,node.cpu", answers=answers)
    assert code == 1
    assert problems(report) == {("node.ssh", n.name) for n in odd_rig.nodes}
    assert all(c["status"] == "pass" for c in report["checks"] if c["id"] == "node.host_key")
    failure = next(c for c in report["checks"] if c["id"] == "node.ssh")
    assert "refused the SSH key" in failure["message"] and "authorized_keys" in failure["remediation"]


def test_messages_name_the_measured_and_required_values(odd_rig) -> None:
    _, report, _, _ = run_inprocess(odd_rig, "--only", "node.memory")
    memory = {c["target"]: c for c in report["checks"]}
    assert memory["n3"]["message"] == "measured 4.0 GiB, required >= 16 GiB (worker)"
    assert memory["n3"]["status"] == "fail" and memory["n1"]["status"] == "pass"
