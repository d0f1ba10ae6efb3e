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


@pytest.mark.asyncio
async def test_a_backbone_swap_blocks_the_plan_page_with_what_to_do(tmp_path, monkeypatch) -> None:
    """Elasticsearch 6 -> 8 cannot be done in place: the plan step refuses (as `upgrade --plan` does), the page
    shows the release as blocking with the operator's steps, and no confirmation lets it go on."""
    from installer.engine import events as ev
    from installer.upgrade.diff import ReleaseView, compare
    from tests.upgrade.test_wizard_snapshots import _statefulset

    old, new = _statefulset("8Gi"), _statefulset("8Gi")
    old["spec"]["template"]["spec"]["containers"][0]["image"] = "docker.elastic.co/elasticsearch/elasticsearch:6.6.2"
    plan = compare("punjab-uat", {"elasticsearch": ReleaseView("elasticsearch", "backbone", documents=[old])},
                   {"elasticsearch": ReleaseView("elasticsearch", "backbone", documents=[new])},
                   from_profile="digit-2.8", to_profile="digit-2.9-lts")
    [(name, reason)] = plan.blocked

    def refused(subject, phase, choices=None, *, sinks, on_engine=None, **options):
        for sink in sinks:  # what the engine reports when the plan step raises for a blocked plan
            sink(ev.StepFinished("upgrade-plan", outcome="failed", duration=0.1,
                                 message=f"the upgrade cannot be done in place:\n{name}: {reason}",
                                 remediation="do what each line says, then rerun the upgrade; nothing was changed"))
        return InstallOutcome(1)

    monkeypatch.chdir(tmp_path)
    app = app_for(tmp_path)
    app.upgrade.run_phase = refused
    app.upgrade.read_plan = lambda *args, **kwargs: plan.to_dict()
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        app.flow = ["welcome", "upgrade-install", "upgrade-target", "upgrade-plan", "upgrade-checks"]
        app.show("upgrade-plan")
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "upgrade-plan" and app.upgrade.plan is not None,
                         "the plan")
        await pilot.pause()
        blocking = str(app.screen.query_one("#plan-blocking").render())
        assert "✗ The upgrade cannot go on as it stands; nothing was changed" in blocking
        assert "reindex" in blocking and "What to do: do what each line says" in blocking
        assert not app.screen.query_one("#confirm-recreate").display  # nothing to confirm: it cannot go on
        assert app.screen.query_one("#next").disabled
        await d.next()
        assert app.screen.PAGE == "upgrade-plan" and "Next is blocked: the upgrade cannot go on" in d.status()
