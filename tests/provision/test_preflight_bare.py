"""Preflight for bare VMs (sdc-vms): what RKE2 needs of the machines and of the network between them,
tested from the nodes themselves on the rig's bare nodes."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.provision.driver import REPO, BareInstall

pytestmark = pytest.mark.timeout(300)


def test_blocked_port_shared_host_name_and_unsynchronised_clock_are_named(fresh_rig, tmp_path) -> None:
    rig = fresh_rig(nodes=3, bare=True, facts=["n3:hostname=n2", "n2:time_sync=no"])
    rig.block_port("n2", "n1", 9345)
    install = BareInstall(rig, tmp_path / "state")
    done = subprocess.run([str(REPO / "install.sh"), "preflight", "--answers", str(rig.answers_path), "--json"],
                          cwd=REPO, env=install.env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 1, done.stderr
    checks = {(c["id"], c["target"]): c for c in json.loads(done.stdout)["checks"]}

    blocked = checks[("node.network", "n2")]
    assert blocked["status"] == "fail"
    assert f"n2 -> n1 ({rig.node('n1').host}) tcp/9345 timed out" in blocked["measured"]
    assert blocked["details"]["blocked"] == [{"from": "n2", "to": "n1", "port": "tcp/9345", "outcome": "timed out"}]
    assert checks[("node.network", "n1")]["status"] == "pass"
    assert checks[("node.network", "n3")]["status"] == "pass"  # only n2's traffic is dropped

    assert checks[("node.hostname", "n3")]["status"] == "fail" and "also on n2" in checks[("node.hostname", "n3")]["measured"]
    assert checks[("node.hostname", "n1")]["status"] == "pass"
    assert checks[("node.time_sync", "n2")]["status"] == "fail"
    assert checks[("node.time_sync", "n1")]["status"] == "pass"
    for node in ("n1", "n2", "n3"):
        assert checks[("node.default_route", node)]["status"] == "pass"
        assert checks[("node.rancher_disk", node)]["status"] == "pass"
        assert checks[("node.swap", node)]["status"] == "pass"
        assert checks[("node.kernel_modules", node)]["status"] == "pass"
