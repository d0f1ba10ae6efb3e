"""The Target page for sdc-vms asks what provisioning needs: the RKE2 artifact folder, the network plugin and
CIDRs, and the registration address (the load balancer); the answers keep them."""
from __future__ import annotations

import pytest

from tests.wizard.helpers import Driver, make_site
from tests.wizard.test_walk import new_app


@pytest.mark.asyncio
async def test_target_page_takes_the_rke2_artifacts_and_registration_address(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    site = make_site(tmp_path)
    app = new_app(site / "answers.yaml")
    async with app.run_test(size=(120, 40)) as pilot:
        d = Driver(app, pilot)
        await d.next()
        assert d.screen.PAGE == "target"
        await d.type("name", (), "punjab-uat")
        await d.node(0, name="cp1", host="10.10.0.11", role="control-plane")
        await d.set("target", ("sdc-vms", "ssh", "user"), "digit")
        await d.secret("target", ("sdc-vms", "ssh", "private_key"), "file", "keys/id_ed25519")
        await d.set("target", ("sdc-vms", "rke2", "cluster_cidr"), "10.42.0.0/33")
        await d.next()
        assert d.screen.PAGE == "target" and "CIDR" in d.status()
        await d.set("target", ("sdc-vms", "rke2", "cluster_cidr"), "10.60.0.0/16")
        await d.set("target", ("sdc-vms", "rke2", "artifacts"), "rke2-artifacts")
        await d.set("target", ("sdc-vms", "rke2", "cni"), "cilium")
        await d.set("target", ("sdc-vms", "load_balancer"), "10.10.0.5")
        await d.next()
        assert d.screen.PAGE == "sizing", d.status()
    held = app.state.section("target")
    assert held["load_balancer"] == "10.10.0.5"
    assert str(held["rke2"]["artifacts"]).endswith("rke2-artifacts")
    assert held["rke2"]["cni"] == "cilium" and held["rke2"]["cluster_cidr"] == "10.60.0.0/16"
