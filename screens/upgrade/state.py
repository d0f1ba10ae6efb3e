"""What the upgrade pages share: the install, the target profile, the operator's named choices, results."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from installer.app.upgrade import UpgradeChoices, UpgradeSubject, backup_result, read_plan, run_phase
from installer.engine import events as ev


@dataclass
class UpgradeState:
    answers: Any = None                  # the install's answers (release.version: the installed profile)
    answers_path: Path | None = None
    state_dir: Path | None = None
    subject: UpgradeSubject | None = None
    choices: UpgradeChoices = field(default_factory=UpgradeChoices)
    plan: dict[str, Any] | None = None
    backup: dict[str, Any] | None = None
    # the engine's entry points (tests of the pages' looks put scripted ones here)
    run_phase: Callable[..., Any] = run_phase
    read_plan: Callable[..., Any] = read_plan
    recorded_backup: Callable[..., Any] = backup_result

    def run(self, page: Any, phase: str, recorder: PhaseRecorder) -> Any:
        """Run a phase for a page (from its worker thread). While it runs, Ctrl+Q cancels it as on the
        progress page: the app is told how (ProgressScreen.Running), and told again when it has ended."""
        from screens.progress import ProgressScreen

        try:
            return self.run_phase(self.subject, phase, self.choices, sinks=[recorder],
                                  on_engine=lambda engine: page.post_message(ProgressScreen.Running(engine.cancel)))
        finally:
            page.post_message(ProgressScreen.Running(None))

    def choose(self, **changes: bool) -> None:
        self.choices = replace(self.choices, **changes)

    def command(self, explicit_state_dir: bool) -> str:
        """The headless command that does what the wizard was about to do, with the choices made as flags."""
        import shlex

        from installer.app.upgrade import choice_flags

        assert self.subject is not None
        from installer.invocation import install_sh

        words = [install_sh(), "upgrade", "--answers", str(self.subject.answers_path), "--to",
                 self.subject.target_id]
        if explicit_state_dir:
            words += ["--state-dir", str(self.subject.state_dir)]
        words += choice_flags(self.choices)
        return " ".join(shlex.quote(w) for w in words)

    def not_started(self, where: str, explicit_state_dir: bool) -> str:
        """What the terminal keeps when the wizard closes before the upgrade has started."""
        assert self.subject is not None
        return "\n".join([f"The upgrade of {self.subject.answers.name!r} to {self.subject.target_id} has not started: "
                          f"{where}", "Continue in the wizard (Upgrade an existing install), or with:",
                          f"  {self.command(explicit_state_dir)}"])

    def forget_results(self) -> None:
        """A new target or install: the plan, the choices made on it and the backup's result no longer hold."""
        self.plan, self.backup, self.choices = None, None, UpgradeChoices()


class PhaseRecorder:
    """The events of one phase run, kept for a page (called on the engine's dispatcher thread)."""

    def __init__(self, on_event: Callable[[ev.Event], None] | None = None) -> None:
        self.lock = threading.Lock()
        self.finished: dict[str, ev.StepFinished] = {}
        self.logs: dict[str, list[str]] = {}
        self.run: ev.RunFinished | None = None
        self.on_event = on_event

    def __call__(self, event: ev.Event) -> None:
        with self.lock:
            if isinstance(event, ev.StepFinished) and event.step:
                self.finished[event.step] = event
            elif isinstance(event, (ev.StepLog, ev.StepWarning)) and event.step:
                self.logs.setdefault(event.step, []).append(event.message)
            elif isinstance(event, ev.RunFinished):
                self.run = event
        if self.on_event is not None:
            self.on_event(event)

    def stopped(self, outcome: Any) -> str:
        """Why a phase did not succeed ('' when it did): its refusal, the failed step's message, or how it ended."""
        failure = self.failure()
        if outcome.refused:
            return str(outcome.refused)
        if failure is not None:
            return f"{failure.step}: {failure.message}" + (f"\nWhat to do: {failure.remediation}"
                                                          if failure.remediation else "")
        if outcome.exit_code != 0:
            return (self.run.message if self.run is not None and self.run.message else
                    "cancelled" if outcome.exit_code == 130 else f"ended with exit code {outcome.exit_code}")
        return ""

    def failure(self) -> ev.StepFinished | None:
        return next((f for f in self.finished.values() if f.outcome not in ("succeeded", "ok", "dry-run")), None)


def upgrade_state(app: Any) -> UpgradeState:
    """The app's one UpgradeState (made on first use)."""
    state = getattr(app, "upgrade", None)
    if state is None:
        state = UpgradeState()
        app.upgrade = state
    return state
