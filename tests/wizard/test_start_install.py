"""The wizard starts an install exactly as the headless run does (installer.app.install.start_install).

A headless run of the same install holding the lock is reported on the progress page the way the
headless run reports it, with the lock holder, and the wizard stays usable; generated secrets kept
in the state directory are masked on the page and in the log from the first line.
"""
from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
from textual.widgets import Button

from installer.engine import Step
from installer.engine.lock import current_holder
from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.engine.test_headless import ROOT, Site
from tests.wizard.helpers import Driver

pytestmark = pytest.mark.timeout(90)


def wizard_state(site: Site) -> WizardState:
    state = WizardState(site.answers, catalog=Catalog.load(site.base), state_dir=site.state)
    state.load(site.answers)
    return state


def summary_text(app) -> str:
    return str(app.screen.query_one("#summary").render())


@pytest.mark.asyncio
async def test_start_while_a_headless_run_holds_the_lock_is_refused_with_the_holder(tmp_path, monkeypatch):
    site = Site(tmp_path / "site")
    monkeypatch.setenv("DIGIT_TEST_CANARY", "canary-7f3b9e21-do-not-leak")
    headless = subprocess.Popen(site.argv(), cwd=ROOT, env=site.env(DEMO_DELAY="2"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while current_holder(site.state) is None:
            assert headless.poll() is None, "the headless run ended before it held the lock"
            assert time.monotonic() < deadline, "the headless run never took the lock"
            time.sleep(0.1)
        ran: list[str] = []

        def never_runs(answers):
            return [Step("hello", "Say hello", lambda ctx: ran.append("hello") or {})]

        app = make_app(wizard_state(site), pages=[], build_steps=never_runs)
        app.animation_level = "none"
        async with app.run_test(size=(80, 24)) as pilot:
            d = Driver(app, pilot)
            app.show("progress")
            await d.wait_for(lambda: "refusing to start" in summary_text(app), "the refusal", timeout=30)
            text = summary_text(app)
            assert f"install is locked by pid {headless.pid}" in text and "command: install" in text
            assert "refusing to start" in d.status()
            assert ran == [] and app.screen.finished is None
            close = app.screen.query_one("#close", Button)
            assert not close.disabled and app.screen.query_one("#cancel-run", Button).disabled
            assert app.exit_code == 1
            await pilot.press("enter")  # Close has the focus: the operator can leave at once
            await pilot.pause()
        assert app.return_value == 1, "Close leaves the wizard with the refusal's exit code"
        assert headless.poll() is None, "the wizard must not disturb the run that holds the lock"
    finally:
        headless.terminate()
        headless.wait(timeout=30)


@pytest.mark.asyncio
async def test_the_wizard_masks_generated_secrets_of_the_state_dir_from_the_first_line(tmp_path, monkeypatch):
    site = Site(tmp_path / "site")
    monkeypatch.setenv("DIGIT_TEST_CANARY", "canary-7f3b9e21-do-not-leak")
    generated = f"generated-{uuid.uuid4().hex}"  # fresh: no earlier test can have registered it
    site.state.mkdir(parents=True)
    store = site.state / "generated-secrets.json"
    store.write_text(json.dumps({"version": 1, "values": {"credentials.grafana_admin_password": generated}}))
    store.chmod(0o600)

    def leaky(answers):
        def step(ctx):
            ctx.log(f"the admin password is {generated}")  # a step that forgets to be careful
            ctx.progress(1, 1, "things", f"done with {generated}")
            return {"said": generated}

        return [Step("leaky", "A careless step", step)]

    app = make_app(wizard_state(site), pages=[], build_steps=leaky)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        app.show("progress")
        await d.wait_for(lambda: app.screen.finished is not None, "the run", timeout=30)
        rows = app.screen.rows
        assert any("the admin password is ******" in line for line in rows["leaky"].logs), rows["leaky"].logs
        shown = "\n".join(line for row in rows.values() for line in row.logs)
        shown += summary_text(app) + d.status()
        assert generated not in shown
    logs = list((site.state / "logs").glob("*.log"))
    assert logs and all(generated not in path.read_text() for path in logs)
    assert generated not in (site.state / "journal.json").read_text()
