"""Upgrade progress: the install's progress page (rows per step and per release, logs, summary) running the
upgrade's full pipeline; after it, release.version in the answers file names the new profile."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.widgets import Button, Label, Static

from installer.engine import events as ev
from screens.progress import ProgressScreen
from screens.upgrade.state import upgrade_state


class UpgradeProgressScreen(ProgressScreen):
    CSS_PATH = str(Path(__file__).resolve().parent.parent / "progress.tcss")  # the install's page's looks
    PAGE = "upgrade-progress"
    TITLE_TEXT = "Upgrading"

    def compose_buttons(self) -> ComposeResult:
        yield Button("Cancel upgrade", id="cancel-run", variant="error", compact=True)
        yield Button("Close", id="close", disabled=True, compact=True)

    def _step_titles(self) -> dict[str, str]:
        from installer.app.upgrade import phase_steps

        upgrade = upgrade_state(self.app)
        try:
            return {step.id: step.title for step in phase_steps(upgrade.subject, "apply", upgrade.choices)}
        except Exception:  # titles are a courtesy: the rows still work with the ids
            return {}

    def start(self) -> None:
        if self.wizard.event_source is not None:
            self._run_source(self.wizard.event_source)
        else:
            self._run_upgrade()

    @work(thread=True, exclusive=True, group="run")
    def _run_upgrade(self) -> None:
        """The whole upgrade pipeline on the install's journal: the checks again, the backup kept, then apply."""
        from installer.app.upgrade import closing, record_target_version

        upgrade = upgrade_state(self.app)
        subject = upgrade.subject

        def keep(engine: Any) -> None:
            self.engine = engine
            self.post_message(self.Running(self.action_cancel_run))

        self.state_dir = subject.state_dir
        outcome = upgrade.run_phase(subject, "apply", upgrade.choices, sinks=[self.sink], on_engine=keep,
                                    warn=lambda message: self.app.call_from_thread(self.set_status, message))
        if outcome.refused:
            self.app.call_from_thread(self._refused, outcome.refused, outcome.exit_code)
            return
        saved: Path | None = None
        problem = ""
        if outcome.exit_code == 0:
            try:
                saved = record_target_version(subject)
            except Exception as exc:  # the upgrade is done; the operator sets the line by hand
                problem = f"release.version could not be saved in {subject.answers_path}: {exc}"
        text = closing(subject, explicit_state_dir=self.wizard.state.state_dir is not None, saved=saved)
        self.app.call_from_thread(self._show_closing, text + (f"\n✗ {problem}" if problem else ""), outcome.exit_code)

    def _finish(self, event: ev.RunFinished) -> None:
        super()._finish(event)
        ended = "done" if event.exit_code == 0 else "stopped"
        self.query_one(".page-header", Label).update(f" DIGIT installer  ·  Upgrade {ended}")

    def _closing_text(self, answers_file: Path) -> str:
        return ""  # the upgrade's own closing replaces it once the answers file is updated (_show_closing)

    def _show_closing(self, text: str, exit_code: int) -> None:
        """The upgrade's closing block, on the page and on the terminal once the wizard has closed."""
        self.wizard.final_report = text
        self.query_one("#summary", Static).update(text)
        self.query_one("#summary-box").display = True
