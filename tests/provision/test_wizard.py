"""From bare SSH nodes to a deployed sample DIGIT started from the wizard (one server; three servers and two
agents): the progress page shows a row per node.

The same rig and RKE2 stand-ins as the headless tests (tests/rig/standin): what this proves is what the
wizard shows while the real pipeline provisions (a row per node that ends succeeded, the token never on
screen), not kubelet, etcd or CNI.
"""
from __future__ import annotations

import os

import pytest
from textual.widgets import Static

from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.provision.test_install import CANARY, seed_token
from tests.wizard.helpers import Driver

pytestmark = pytest.mark.timeout(600)


@pytest.mark.asyncio
@pytest.mark.parametrize("nodes", [1, 5], ids=["one-server", "three-servers-two-agents"])
async def test_the_wizard_provisions_bare_nodes_with_a_row_per_node_and_deploys(fresh_rig, tmp_path, monkeypatch,
                                                                               nodes):
    rig = fresh_rig(nodes=nodes, bare=True, rollout_delay=0.2)
    for name, value in {**rig.env, "DIGIT_INSTALLER_READINESS_POLL": "0.2",
                        "DIGIT_INSTALLER_NODE_READY_TIMEOUT": "60"}.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    state_dir = tmp_path / "state"
    seed_token(state_dir, CANARY)
    state = WizardState(rig.answers_path, catalog=Catalog.load(rig.answers_path.parent), state_dir=state_dir)
    state.load(rig.answers_path)
    app = make_app(state, pages=[])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        app.show("progress")
        await d.wait_for(lambda: app.screen.PAGE == "progress", "the progress page")
        progress = app.screen
        await d.wait_for(lambda: progress.finished is not None, "the install", timeout=540)
        summary = str(progress.query_one("#summary", Static).render())
        assert progress.finished.exit_code == 0, (progress.finished.message, summary)
        nodes = {key.split("/", 1)[1]: row.status for key, row in progress.rows.items()
                 if key.startswith("provision/")}
        assert {node.name for node in rig.nodes} <= set(nodes), nodes
        assert all(nodes[node.name] == "succeeded" for node in rig.nodes), nodes
        assert progress.rows["deploy"].status in ("ok", "succeeded")
        shown = "\n".join(line for row in progress.rows.values() for line in row.logs) + summary
        assert CANARY not in shown
