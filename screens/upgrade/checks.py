"""The checks before anything changes: the upgrade's own steps up to upgrade-checks (and the mirror's images).

Each problem is shown on its own line. A release stuck in pending-* (a client that died mid-operation)
can be rolled back to its last deployed revision from here, after a named confirmation, as
`--recover-pending` does.
"""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Button, Checkbox, Static

from installer.upgrade.checks import RECOVER_FLAG
from screens.base import BACK, NEXT, WizardScreen
from screens.upgrade.plan_notes import RECOVER_LABEL
from screens.upgrade.state import PhaseRecorder, upgrade_state
from screens.widgets.confirm_box import ConfirmBox

ICONS = {"succeeded": "✓", "ok": "✓", "failed": "✗", "timeout": "✗", "interrupted": "■", "skipped": "↷"}


def problems_of(message: str) -> list[str]:
    """The checks step says each problem on a line of its own ('- ...'); any other failure is one problem."""
    listed = [line[2:] for line in message.splitlines() if line.startswith("- ")]
    return listed or [message]


class UpgradeChecksScreen(WizardScreen):
    PAGE = "upgrade-checks"
    TITLE_TEXT = "Checks"
    NEXT_LABEL = "Backup"
    INTRO = ("Before anything changes: no release stuck pending, every node Ready, the database reachable at a "
             "version the target needs with no failed Flyway migration, room for the backup.")
    DEFAULT_CSS = """
    UpgradeChecksScreen #checks-steps { height: auto; }
    UpgradeChecksScreen #checks-problems { color: $error; height: auto; margin: 1 0 0 0; }
    UpgradeChecksScreen #checks-recovered { color: $success; height: auto; }
    UpgradeChecksScreen ConfirmBox { margin: 1 0 0 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.passed = False
        self.running = False

    def compose_body(self) -> ComposeResult:
        yield Static("Checking…", id="checks-steps", markup=False)
        yield Static("", id="checks-problems", markup=False)
        yield Static("", id="checks-recovered", markup=False)
        yield ConfirmBox(RECOVER_LABEL, id="confirm-recover")

    def compose_buttons(self) -> ComposeResult:
        yield Button("< Back", id="back", compact=True)
        yield Button("Check again", id="recheck", compact=True)
        yield Button(f"{self.NEXT_LABEL} >", id="next", variant="primary", compact=True, disabled=True)

    def on_mount(self) -> None:
        box = self.query_one("#confirm-recover", Checkbox)
        box.display = False

    def on_screen_resume(self) -> None:
        self.check()

    @on(Button.Pressed, "#recheck")
    def check(self) -> None:
        if self.running:
            return
        self.running, self.passed = True, False
        self.query_one("#next", Button).disabled = True
        self.query_one("#checks-steps", Static).update("Checking…")
        self.query_one("#checks-problems", Static).update("")
        self.query_one("#checks-recovered", Static).update("")
        self.set_status("Running the checks; they change nothing" +
                        (" (except the pending releases you chose to roll back)."
                         if upgrade_state(self.app).choices.recover_pending else "."))
        self._check()

    @work(thread=True, exclusive=True, group="upgrade-checks")
    def _check(self) -> None:
        upgrade = upgrade_state(self.app)
        recorder = PhaseRecorder()
        try:
            outcome = upgrade.run(self, "checks", recorder)
        except Exception as exc:  # say it, stay usable
            self.app.call_from_thread(self._show, recorder, f"the checks could not run: {exc}")
            return
        stopped = recorder.stopped(outcome)
        self.app.call_from_thread(self._show, recorder, stopped if recorder.failure() is None else "")

    def _show(self, recorder: PhaseRecorder, refused: str) -> None:
        from installer import redact

        self.running = False
        upgrade = upgrade_state(self.app)
        lines = [f"{ICONS.get(f.outcome, '?')} {step}: {f.outcome}" for step, f in recorder.finished.items()]
        self.query_one("#checks-steps", Static).update("\n".join(lines) or "No check ran.")
        failure = recorder.failure()
        self.problems = ([refused] if refused else problems_of(failure.message) if failure is not None else [])
        self.problems = [redact.mask(p) for p in self.problems]
        remediation = failure.remediation if failure is not None and not refused else ""
        text = "\n".join(f"✗ {p}" for p in self.problems)
        if remediation:
            text += f"\nWhat to do: {redact.mask(remediation)}"
        self.query_one("#checks-problems", Static).update(text)
        recovered = [line for line in recorder.logs.get("upgrade-checks", []) if "rolled back to revision" in line]
        self.query_one("#checks-recovered", Static).update("\n".join(f"✓ {line}" for line in recovered))
        pending = any(RECOVER_FLAG in p for p in self.problems)
        box = self.query_one("#confirm-recover", Checkbox)
        box.display = pending or upgrade.choices.recover_pending
        box.value = upgrade.choices.recover_pending
        self.passed = not self.problems and recorder.run is not None and recorder.run.exit_code == 0
        changed = (" (except the pending releases rolled back: " + "; ".join(recovered) + ")") if recovered else ""
        self.wizard.final_report = upgrade.not_started(
            ("the checks passed" if self.passed else "the checks refused it:\n" + "\n".join(
                f"  ✗ {p}" for p in self.problems)) + f"; nothing was changed{changed}",
            self.wizard.state.state_dir is not None)
        self.query_one("#next", Button).disabled = not self.passed
        if self.passed:
            self.set_status("Every check passed. Next shows where the backup goes; nothing changes until you start it.")
        elif pending:
            self.set_status("A release is stuck pending: tick the roll-back above and Check again, or fix it yourself.")
        else:
            self.set_status(f"{len(self.problems)} problem(s): fix each, then Check again. Nothing was changed.")

    @on(Checkbox.Changed, "#confirm-recover")
    def _recover_chosen(self, event: Checkbox.Changed) -> None:
        upgrade_state(self.app).choose(recover_pending=event.value)
        if event.value:
            self.set_status("Check again rolls the pending releases back, then checks.")

    def action_next(self) -> None:
        if self.passed:
            self.dismiss(NEXT)
        else:
            self.set_status("Next is blocked: the checks have not passed")

    def action_back(self) -> None:
        if not self.running:
            self.dismiss(BACK)
