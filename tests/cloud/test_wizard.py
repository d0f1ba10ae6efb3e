"""The wizard on the stand-in cloud: Terraform's plan is shown for confirmation before anything is created, then
the whole pipeline (provision -> database -> configure -> deploy) runs from the progress page with a row per resource.

Terraform, the rig's PostgreSQL and the Kubernetes API emulator are real; the cloud is the stand-in provider.
"""
from __future__ import annotations

import json
import os

import pytest
from textual.widgets import Button, DataTable, Static

from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.cloud.conftest import CANARY_AWS_KEY_ID, CANARY_AWS_SECRET, CANARY_DB_PASSWORD, CloudInstall
from tests.wizard.helpers import Driver

pytestmark = pytest.mark.timeout(420)


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def _table(screen) -> list[tuple[str, str]]:
    table = screen.query_one("#plan-changes", DataTable)
    return [tuple(str(cell) for cell in table.get_row_at(index)) for index in range(table.row_count)]


@pytest.mark.asyncio
async def test_the_wizard_reviews_the_plan_then_provisions_and_deploys_with_a_row_per_resource(
        cloud_install: CloudInstall, monkeypatch: pytest.MonkeyPatch):
    for name, value in {**cloud_install.env, "DIGIT_INSTALLER_READINESS_POLL": "0.2"}.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    state = WizardState(cloud_install.answers_path, catalog=Catalog.load(cloud_install.answers_path.parent),
                        state_dir=cloud_install.state)
    state.load(cloud_install.answers_path)
    app = make_app(state, pages=[])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        app.show("plan")
        await d.wait_for(lambda: app.screen.PAGE == "plan" and app.screen.review is not None, "the plan", timeout=120)
        screen = app.screen
        assert _text(screen, "#plan-headline").splitlines() == [
            "Plan: 18 to add, 0 to change, 0 to destroy.",
            "3 × m5a.xlarge workers in ap-south-1; managed database db.m6g.xlarge"]
        rows = {address: action for action, address in _table(screen)}
        assert rows["standin_cluster.main"] == "+ add" and rows["standin_database.main[0]"] == "+ add"
        assert len(rows) == 18 and set(rows.values()) == {"+ add"}
        assert cloud_install.cloud_journal() == [], "planning created something in the cloud"
        assert not screen.query_one("#apply", Button).disabled

        # Cancel creates nothing and goes back to the review; coming back plans again.
        await pilot.click("#cancel-plan")
        await d.wait_for(lambda: app.screen.PAGE == "review", "the review page")
        assert cloud_install.cloud_journal() == [] and not (cloud_install.cloud / "cluster").exists()
        assert not (cloud_install.state / "terraform" / "review.tfplan").exists(), "the plan file holds variables"

        app.show("plan")
        await d.wait_for(lambda: app.screen.PAGE == "plan" and app.screen.review is not None, "the plan again",
                         timeout=120)
        await pilot.click("#apply")
        await d.wait_for(lambda: app.screen.PAGE == "progress", "the progress page")
        pin = cloud_install.state / "terraform" / "reviewed-plan.json"
        assert len(json.loads(pin.read_text())["changes"]) == 18, "Apply pins the reviewed plan"
        await d.wait_for(lambda: app.screen.finished is not None, "the install", timeout=360)
        progress = app.screen
        assert progress.finished.exit_code == 0, (progress.finished.message, _text(progress, "#summary"))
        resources = {key.split("/", 1)[1]: row.status for key, row in progress.rows.items()
                     if key.startswith("provision/")}
        assert resources.get("standin_cluster.main") == "succeeded", resources
        assert {"standin_network.main", "standin_bucket.filestore", "standin_database.main[0]"} <= set(resources)
        assert progress.rows["deploy"].status in ("ok", "succeeded")
        shown = "\n".join(line for row in progress.rows.values() for line in row.logs) + _text(progress, "#summary")
        for canary in (CANARY_AWS_SECRET, CANARY_AWS_KEY_ID, CANARY_DB_PASSWORD):
            assert canary not in shown
    assert cloud_install.creates("cluster") == 1
    assert not (cloud_install.state / "terraform" / "reviewed-plan.json").exists(), "applied: the pin is spent"


def test_preflight_leads_a_cloud_target_to_the_plan_review_and_others_straight_to_progress():
    from screens.preflight import after_preflight

    assert after_preflight({"target": {"kind": "aws"}}) == "plan"
    assert after_preflight({"target": {"kind": "openstack"}}) == "plan"
    assert after_preflight({"target": {"kind": "sdc-vms"}}) == "progress"
    assert after_preflight({}) == "progress"


@pytest.mark.asyncio
@pytest.mark.parametrize("overrides, expected", [
    ({}, "On aws: 3 × m5a.xlarge workers (for 4 vCPU / 16 GB); managed database db.m6g.xlarge"),
    ({"workers": 5, "worker_memory_gb": 32}, "On aws: 5 × r5a.xlarge workers (for 4 vCPU / 32 GB); managed database db.m6g.xlarge"),
])
async def test_the_sizing_page_shows_the_profile_as_the_clouds_instance_types(tmp_path, overrides, expected):
    answers = tmp_path / "answers.yaml"
    draft = {"version": 1, "name": "demo", "target": {"kind": "aws", "region": "ap-south-1"},
             "database": {"mode": "managed"}, "sizing": {"profile": "dev", "overrides": overrides}}
    state = WizardState(answers, draft=draft, catalog=Catalog.load(tmp_path), state_dir=tmp_path / "state")
    app = make_app(state, pages=["sizing"])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.wait_for(lambda: app.screen.PAGE == "sizing" and "On aws" in _text(app.screen, "#profile-description"),
                         "the sizing page")
        assert _text(app.screen, "#profile-description").splitlines()[-1] == expected
