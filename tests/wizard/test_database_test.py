"""The Database page's Test button logs in to the rig's real PostgreSQL from a worker and says how it went."""
from __future__ import annotations

import socket

import pytest
from textual.widgets import Button, Static

from screens.app import make_app
from screens.state import Catalog, WizardState
from tests.wizard.helpers import Driver


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.asyncio
@pytest.mark.timeout(240)
async def test_the_database_test_button_reports_version_auth_and_refused(fresh_rig, monkeypatch, tmp_path):
    rig = fresh_rig(nodes=1)
    for name, value in rig.env.items():
        monkeypatch.setenv(name, value)
    state = WizardState(rig.answers_path, catalog=Catalog.load(rig.answers_path.parent), state_dir=tmp_path / "state")
    state.load(rig.answers_path)
    app = make_app(state, pages=[])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.show("database")
        result = lambda: str(app.screen.query_one("#dbtest-result", Static).render())  # noqa: E731
        button = app.screen.query_one("#test-database", Button)

        async def press() -> None:  # at 80x24 the button sits below the form, out of a click's reach
            button.press()
            await pilot.pause()
        assert button.display and app.screen.query_one("#dbtest-box").display

        await press()
        await d.wait_for(lambda: result()[:1] in ("✓", "✗"), "a result", timeout=30)
        assert result().startswith("✓"), result() + " | " + d.status()
        assert "logged in as egov" in result() and "PostgreSQL 1" in result() and "✓" in d.status()

        monkeypatch.setenv("DIGIT_DB_PASSWORD", "wrong-canary-pw-41")
        await press()
        await d.wait_for(lambda: result().startswith("✗"), "the refused login", timeout=30)
        assert "login refused" in result() and "wrong-canary-pw-41" not in app.export_screenshot()

        monkeypatch.setenv("DIGIT_DB_PASSWORD", rig.env["DIGIT_DB_PASSWORD"])
        await d.set("database", ("external", "port"), str(_closed_port()))
        await press()
        await d.wait_for(lambda: result().startswith("✗") and "refused or unreachable" in result(), "a closed port",
                         timeout=30)
        assert not button.disabled

        await d.choose("database", (), "in-cluster")
        await d.wait_for(lambda: not app.screen.query_one("#dbtest-box").display, "the box hidden for in-cluster")
