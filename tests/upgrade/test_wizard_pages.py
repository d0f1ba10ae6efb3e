"""The upgrade pages without a cluster: a phase that runs can be cancelled with Ctrl+Q, as on the progress page.

The engine is scripted here (the rig tests in test_wizard.py run the real one): what is tested is that the page
hands the running phase's cancel to the app and that the first Ctrl+Q cancels rather than quits."""
from __future__ import annotations

import threading

import pytest

from installer.app.install import InstallOutcome
from tests.upgrade.test_wizard_snapshots import app_for
from tests.wizard.helpers import Driver

pytestmark = pytest.mark.timeout(60)


class BlockingBackup:
    """A backup phase that runs until it is cancelled."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.started = threading.Event()

    def cancel(self, reason: str = "") -> None:
        self.cancelled.set()

    def __call__(self, subject, phase, choices=None, *, sinks, on_engine=None, **options):
        if on_engine is not None:
            on_engine(self)
        self.started.set()
        self.cancelled.wait(20)
        return InstallOutcome(130, refused="" if self.cancelled.is_set() else "never cancelled")


@pytest.mark.asyncio
async def test_ctrl_q_during_the_backup_cancels_it_and_the_next_quits(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = app_for(tmp_path)
    phase = BlockingBackup()
    app.upgrade.run_phase = phase
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        app.flow = ["welcome", "upgrade-install", "upgrade-target", "upgrade-plan", "upgrade-checks", "upgrade-backup"]
        app.show("upgrade-backup")
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "upgrade-backup", "the backup page")
        await d.next()
        await d.wait_for(lambda: phase.started.is_set() and app.cancel_run is not None, "the backup to run")
        await pilot.press("ctrl+q")
        await d.wait_for(phase.cancelled.is_set, "the cancel")
        assert app.is_running  # the first Ctrl+Q cancels the phase; it does not quit under it
        await d.wait_for(lambda: app.cancel_run is None and not app.screen.running, "the phase to end")
        assert "✗" in str(app.screen.query_one("#backup-result").render())
        await pilot.press("ctrl+q")
        await d.wait_for(lambda: not app.is_running, "the wizard to close")
