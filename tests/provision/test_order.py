"""Three servers and two agents from bare nodes to DIGIT: the order RKE2's HA guide requires, seen by the stand-ins.

All stand-ins log to one file with one clock (CLOCK_MONOTONIC), so the order below is the real order.
"""

from __future__ import annotations

import pytest

from installer.provision.config import CONTROL_PLANE_TAINT
from tests.provision.driver import BareInstall, mode

pytestmark = pytest.mark.timeout(900)
SERVERS, AGENTS = ["n1", "n2", "n3"], ["n4", "n5"]


def critical(text: str) -> dict[str, str]:
    keys = ("token", "cni", "cluster-cidr", "service-cidr", "node-taint")
    return {line.split(":", 1)[0]: line.split(":", 1)[1] for line in text.splitlines()
            if line.split(":", 1)[0] in keys}


def test_three_servers_and_two_agents_join_in_order_with_identical_critical_settings(fresh_rig, tmp_path) -> None:
    rig = fresh_rig(nodes=5, bare=True, rollout_delay=0.2)
    assert [n.role for n in rig.nodes] == ["control-plane"] * 3 + ["worker"] * 2
    install = BareInstall(rig, tmp_path / "state")
    done = install.run()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "(release profile digit-sample)" in done.stdout

    starts = install.events("rke2", "start")
    ready = {e["node"]: e["t"] for e in install.events("rke2", "ready")}
    # Exactly one node ever starts without `server:`, and it is the first control-plane node.
    assert {e["node"] for e in starts if not e["joins"]} == {"n1"}
    assert len(install.events("rke2", "cluster-init")) == 1 and not install.events("rke2", "split-brain")
    # Joiners start only after the first server wrote its token (it reports ready after writing it).
    first_start = {e["node"]: e["t"] for e in reversed(starts)}
    assert all(first_start[n] > ready["n1"] for n in SERVERS[1:] + AGENTS)
    # The other servers one at a time: each starts after the previous one is Ready.
    assert first_start["n2"] > ready["n1"] and first_start["n3"] > ready["n2"]
    # No agent before every server is Ready.
    assert min(first_start[n] for n in AGENTS) > max(ready[n] for n in SERVERS)
    # Each node joined once, with the right role; no refused joins.
    joins = install.events("supervisor", "join")
    assert sorted((e["name"], e["role"]) for e in joins) == [
        ("n2", "server"), ("n3", "server"), ("n4", "agent"), ("n5", "agent")]
    assert not install.events("supervisor", "join-refused")

    # Configuration: 0600, identical critical settings on every server, taints on dedicated control planes.
    configs = {n.name: install.node_file(n.name, "/etc/rancher/rke2/config.yaml") for n in rig.nodes}
    assert {mode(p) for p in configs.values()} == {0o600}
    texts = {name: path.read_text() for name, path in configs.items()}
    assert critical(texts["n1"]) == critical(texts["n2"]) == critical(texts["n3"])
    assert len(critical(texts["n1"])) == 5
    assert all(f'tls-san: ["{rig.node("n1").host}"' in texts[n] for n in SERVERS)
    assert CONTROL_PLANE_TAINT in texts["n1"] and CONTROL_PLANE_TAINT not in texts["n4"]
    registration = f'server: "https://{rig.node("n1").host}:9345"'
    assert registration not in texts["n1"] and all(registration in texts[n] for n in SERVERS[1:] + AGENTS)

    # The cluster has all five Ready; the static volumes went to the workers.
    from installer.provision.cluster import node_readiness

    assert node_readiness(install.state / "kubeconfig") == dict.fromkeys(SERVERS + AGENTS, True)
    assert set(install.outputs("storage")["directories"]) <= set(AGENTS)

    # Someone edits n4's config by hand: the rerun puts it back and restarts n4 alone.
    configs["n4"].write_text(texts["n4"] + 'node-label: ["edited=by-hand"]\n')
    count = len(rig.events())
    again = install.run()
    assert again.returncode == 0, again.stdout[-3000:]
    later = rig.events()[count:]
    assert {e["node"] for e in later if e["who"] == "systemctl" and e["event"] in ("stopped", "spawned")} == {"n4"}
    assert not [e for e in later if e["who"] == "install.sh"]
    assert configs["n4"].read_text() == texts["n4"] and mode(configs["n4"]) == 0o600
    assert install.outputs("provision")["restarted"] == ["n4"]
    assert [e["name"] for e in later if e["event"] == "join"] == ["n4"]  # the agent reconnects, as RKE2's does
