"""The upgrade pages without a cluster: a phase that runs can be cancelled with Ctrl+Q, as on the progress page.

The engine is scripted here (the rig tests in test_wizard.py run the real one): what is tested is that the page
hands the running phase's cancel to the app and that the first Ctrl+Q cancels rather than quits."""
from __future__ import annotations

import threading

import pytest

from installer.app.install import InstallOutcome
from screens.app import make_app
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


def _install_record(state_dir, name: str, started: float, *, uninstalled_at: float | None = None) -> None:
    """A state directory as an install (and then an uninstall) leaves it: the journals and the answers' copy."""
    from installer.engine.journal import Journal, RunRecord

    state_dir.mkdir(parents=True)
    journal = Journal(state_dir, name)
    journal.start_run(RunRecord("r1", started=started, pid=1, host="here"))
    journal.record("deploy").outcome = "succeeded"
    journal.finish_run("r1", "succeeded")
    (state_dir / "answers.yaml").write_text(f"version: 1\nname: {name}\n")
    if uninstalled_at is not None:
        removal = Journal(state_dir / "uninstall", name)
        removal.start_run(RunRecord("u1", started=uninstalled_at, pid=1, host="here"))
        removal.finish_run("u1", "succeeded")


@pytest.mark.asyncio
async def test_an_uninstalled_install_is_not_offered_for_an_upgrade(tmp_path, monkeypatch) -> None:
    """Its releases are gone: the list says why it is left out, and typing its answers file is refused."""
    from screens.state import WizardState, find_previous_installs
    from tests.wizard.helpers import make_site, screen_text
    from tests.wizard.test_mixed import PARTIAL

    site = make_site(tmp_path)
    monkeypatch.chdir(site)
    answers = site / "gone.yaml"  # the operator's own file, beside the wizard
    answers.write_text(PARTIAL.replace("no-such-profile", "dev").replace("mixed-mode", "gone-uat")
                       + "domain: {fqdn: gone.example.org, tls: {mode: self-signed}}\n")
    root = tmp_path / "state" / "digit-installer"
    _install_record(root / "gone-uat", "gone-uat", 1.0, uninstalled_at=2.0)
    _install_record(root / "live-uat", "live-uat", 1.0)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    state = WizardState(site / "answers.yaml")
    state.previous = find_previous_installs(root)
    app = make_app(state, pages=[], clock=lambda: 1000.0)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        app.flow = ["welcome", "upgrade-install", "upgrade-target"]
        app.show("upgrade-install")
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "upgrade-install", "the install page")
        await pilot.pause()
        labels = [label for label, _path in app.screen.candidates()]
        assert [label for label in labels if "install" in label and "answers file" not in label] == \
            ["install live-uat: succeeded  (the copy in its state directory)"]
        shown = " ".join(screen_text(app).split())
        assert "Not offered: install gone-uat (gone.yaml): uninstalled (its releases were removed): nothing to upgrade" \
            in shown
        app.screen.query_one(f"#install-{len(labels) - 1}").value = True  # another answers file: the uninstalled one's
        await pilot.pause()
        app.screen.query_one("#other-path").value = str(answers)
        await d.next()
        await d.wait_for(lambda: "Next is blocked" in d.status(), "the refusal")
        assert "install 'gone-uat' was uninstalled" in d.status() and app.screen.PAGE == "upgrade-install"
