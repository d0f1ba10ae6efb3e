"""The delaying proxy in front of each node's sshd: round trips grow by twice the delay, nothing else changes."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.rig.rig import SSH_USER, Rig, RigError


def _ssh_seconds(rig: Rig, node: str, command: str = "true") -> tuple[float, str]:
    target = rig.node(node)
    started = time.monotonic()
    result = subprocess.run(
        ["ssh", "-i", str(rig.ssh_key_path), "-p", str(target.port), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
         "-o", "ConnectTimeout=10", f"{SSH_USER}@{target.host}", command],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return time.monotonic() - started, result.stdout


def _best(rig: Rig, node: str, runs: int = 3) -> float:
    return min(_ssh_seconds(rig, node)[0] for _ in range(runs))


@pytest.mark.parametrize("netns", [None, False], ids=["namespaces", "loopback"])
def test_link_delay_adds_round_trips_to_ssh(fresh_rig, netns) -> None:
    plain = fresh_rig(nodes=1, rollout_delay=0, netns=netns)
    slow = fresh_rig(nodes=2, rollout_delay=0, netns=netns, link_delay_ms=100)
    assert slow.nodes[0].sshd_port and "100 ms each way" in slow.describe()
    # An SSH login takes several round trips (TCP, version, key exchange, auth, channel, exit status);
    # each costs 200 ms more across the proxy.
    added = _best(slow, "n1") - _best(plain, "n1")
    assert 0.8 < added < 4.0, added
    _, out = _ssh_seconds(slow, "n2", "head -c 300000 /dev/zero | wc -c")
    assert out.strip() == "300000"  # bulk data crosses intact
    slow.stop_node("n2")
    with pytest.raises(AssertionError):
        _ssh_seconds(slow, "n2")
    slow.start_node("n2")
    assert _ssh_seconds(slow, "n2", "cat /etc/machine-id")[1].strip() == slow.node("n2").machine_id


def test_link_delay_bounds(tmp_path) -> None:
    with pytest.raises(RigError, match="--link-delay-ms"):
        Rig.up(tmp_path / "r", nodes=1, link_delay_ms=-1)
