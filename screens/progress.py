"""Progress: one row per step and per Helm release, a log pane for any row, and the final summary.

Consumes installer.engine events. The engine runs in a worker thread; its
event sink hands each event to the UI thread with call_from_thread.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Label, ProgressBar, RichLog, Static

from installer.engine import events as ev
from installer.invocation import install_sh
from screens.base import WizardScreen

ICONS = {"pending": "·", "running": "▶", "ok": "✓", "succeeded": "✓", "unchanged": "=", "skipped": "↷", "failed": "✗",
         "cancelled": "■", "interrupted": "■", "timeout": "✗", "stopped": "■"}
# an end state in words beside its icon, so no state is told by colour alone
WORDS = {"unchanged": "unchanged", "failed": "failed", "timeout": "timed out", "cancelled": "cancelled",
         "interrupted": "interrupted", "stopped": "stopped"}
ENDED = frozenset(ICONS) - {"pending", "running"}


def _elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:d}:{seconds % 60:02d}"


@dataclass
class RowState:
    key: str
    title: str
    status: str = "pending"
    started: float | None = None
    finished: float | None = None
    logs: list[str] = field(default_factory=list)


class ProgressRow(Horizontal, can_focus=True):
    """A step or a task: status, name, bar, elapsed time. Enter opens its log."""

    class Opened(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    BINDINGS = [Binding("enter", "open", "Show log")]

    def __init__(self, row: RowState, indent: bool) -> None:
        super().__init__(classes="progress-row" + (" -task" if indent else ""))
        self.row = row

    def compose(self) -> ComposeResult:
        yield Static(ICONS["pending"], classes="row-icon", markup=False)
        yield Static(self.row.title, classes="row-title", markup=False)
        bar = ProgressBar(total=None, show_eta=False, classes="row-bar")
        bar.visible = False
        yield bar
        yield Static("", classes="row-elapsed", markup=False)

    def action_open(self) -> None:
        self.post_message(self.Opened(self.row.key))

    def on_click(self) -> None:
        self.focus()
        self.action_open()

    def refresh_row(self, now: float, message: str = "") -> None:
        row = self.row
        self.query_one(".row-icon", Static).update(ICONS.get(row.status, "?"))
        self.set_class(row.status == "failed", "-failed")
        self.set_class(row.status in ("ok", "succeeded"), "-done")
        word = WORDS.get(row.status, "")
        if message or word:
            text = f"{row.title}  {message}" if message else row.title
            if word and not (message or "").startswith(word):
                text = f"{row.title}  {word}" + (f": {message}" if message else "")
            self.query_one(".row-title", Static).update(text)
        if row.started is not None:
            end = row.finished if row.finished is not None else now
            self.query_one(".row-elapsed", Static).update(_elapsed(end - row.started))


class ProgressScreen(WizardScreen):
    CSS_PATH = "progress.tcss"
    PAGE = "progress"
    TITLE_TEXT = "Installing"
    BINDINGS = [Binding("escape", "close_log", "Close log", show=False), Binding("ctrl+c", "cancel_run", "Cancel install")]

    class Running(Message):
        """An install runs (with the way to cancel it) or has ended (cancel is None); the app asks before quitting."""

        def __init__(self, cancel: Any) -> None:
            super().__init__()
            self.cancel = cancel

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, RowState] = {}
        self.widgets: dict[str, ProgressRow] = {}
        self.open_key: str | None = None
        self.engine: Any = None
        self.finished: ev.RunFinished | None = None
        self.titles: dict[str, str] = {}
        self.state_dir: Path | None = None  # where the run keeps its journal (None for a scripted event source)

    def compose_body(self) -> ComposeResult:
        yield Vertical(id="rows")

    def compose(self) -> ComposeResult:
        """The outcome sits below the rows, outside their scrolling, so it is seen without scrolling."""
        for widget in super().compose():
            if "page-status" in widget.classes:
                yield VerticalScroll(Static("", id="summary", markup=False), id="summary-box")
            yield widget

    def compose_buttons(self) -> ComposeResult:
        yield Button("Cancel install", id="cancel-run", variant="error", compact=True)
        yield Button("Close", id="close", disabled=True, compact=True)

    def on_mount(self) -> None:
        self.mount(RichLog(id="log", wrap=True, markup=False, max_lines=2000), after=self.query_one("#body"))
        self.query_one("#log").display = False
        self.query_one("#summary-box").display = False
        self.titles = self._step_titles()
        self.set_interval(1.0, self._tick)
        self.start()

    def _step_titles(self) -> dict[str, str]:
        """What each step will do, so rows that wait show it, not only an id."""
        try:
            from installer.app.pipeline import build_steps

            answers = self.wizard.state.validate()
            return {step.id: step.title for step in (self.wizard.build_steps or build_steps)(answers)}
        except Exception:  # titles are a courtesy: the rows still work with the ids
            return {}

    # -- running

    def start(self) -> None:
        source = self.wizard.event_source
        if source is not None:
            self._run_source(source)
        else:
            self._run_engine()

    def sink(self, event: ev.Event) -> None:
        """Called on the engine's dispatcher thread."""
        self.app.call_from_thread(self.handle, event)

    @work(thread=True, exclusive=True, group="run")
    def _run_source(self, source) -> None:
        source(self.sink)

    @work(thread=True, exclusive=True, group="run")
    def _run_engine(self) -> None:
        """The same start_install as the headless run: secrets registered, refusals reported, not raised."""
        from installer.app.install import start_install
        from installer.state import state_dir_for

        state = self.wizard.state
        try:
            answers = state.validate()
        except Exception as exc:  # the review page validated already; say what changed
            self.app.call_from_thread(self.set_status, f"cannot start: {exc}")
            return

        def keep(engine: Any) -> None:
            self.engine = engine
            self.post_message(self.Running(self.action_cancel_run))

        self.state_dir = state_dir_for(answers.name, state.state_dir)
        outcome = start_install(answers, self.state_dir, sinks=[self.sink],
                                resume=state.resume, answers_path=self.wizard.saved_path or state.answers_path,
                                steps_for=self.wizard.build_steps, on_engine=keep,
                                warn=lambda message: self.app.call_from_thread(self.set_status, message))
        if outcome.refused:
            self.app.call_from_thread(self._refused, outcome.refused, outcome.exit_code)

    def _refused(self, reason: str, exit_code: int) -> None:
        """The run never started (another run holds the lock, the journal is unreadable): say why, stay usable."""
        self.wizard.exit_code = exit_code
        cancel = self.query_one("#cancel-run", Button)
        cancel.disabled, cancel.display = True, False
        close = self.query_one("#close", Button)
        close.disabled = False
        close.focus()
        text = f"✗ {reason}\n  Nothing was changed. Close, or wait for the other run to finish and start again."
        self.query_one("#summary", Static).update(text)
        self.query_one("#summary-box").display = True
        self.query_one(".page-header", Label).update(" DIGIT installer  ·  Install not started")
        self.wizard.final_report = text
        self.set_status(reason)

    def action_cancel_run(self) -> None:
        if self.engine is not None and self.finished is None:
            self.engine.cancel("cancelled from the wizard")
            self.set_status("cancelling: the current step stops at its next safe point…")

    @on(Button.Pressed, "#cancel-run")
    def _cancel_pressed(self) -> None:
        self.action_cancel_run()

    @on(Button.Pressed, "#close")
    def _close_pressed(self) -> None:
        self.app.exit(self.wizard.exit_code)

    # -- events

    async def _row(self, key: str, title: str, parent: str | None = None) -> RowState:
        if key not in self.rows:
            self.rows[key] = RowState(key, title)
            widget = ProgressRow(self.rows[key], indent=parent is not None)
            self.widgets[key] = widget
            container = self.query_one("#rows", Vertical)
            after = None
            if parent is not None:
                siblings = [k for k in self.widgets if k == parent or k.startswith(parent + "/")]
                after = self.widgets[siblings[-2]] if len(siblings) > 1 else None
            if after is not None:
                await container.mount(widget, after=after)
            else:
                await container.mount(widget)
        return self.rows[key]

    async def handle(self, event: ev.Event) -> None:
        now = self.wizard.clock()
        step = event.step or "run"
        if isinstance(event, ev.RunStarted):
            for step_id in event.steps:
                await self._row(step_id, self.titles.get(step_id, step_id))
            doing = {"upgrade": "upgrading", "uninstall": "uninstalling"}.get(event.command, "installing")
            self.set_status(f"{doing} {event.install}; debug log: {event.log_path}")
            return
        if isinstance(event, ev.RunFinished):
            self.finished = event
            self._finish(event)
            return
        key = f"{step}/{event.task}" if getattr(event, "task", None) else step
        if key != step:
            await self._row(step, step)
        row = await self._row(key, event.task if key != step else step, parent=step if key != step else None)
        widget = self.widgets[key]
        message = ""
        if isinstance(event, ev.StepStarted):
            row.title, row.status, row.started, row.finished = event.title, "running", now, None
            widget.query_one(".row-title", Static).update(event.title + (f" (attempt {event.attempt})" if event.attempt > 1 else ""))
        elif isinstance(event, ev.StepProgress):
            if row.started is None:
                row.started, row.status = now, "running"
            bar = widget.query_one(ProgressBar)
            bar.visible = True
            bar.update(total=event.total, progress=event.done)
            message = event.message
        elif isinstance(event, (ev.StepLog, ev.StepWarning)):
            level = "warning" if isinstance(event, ev.StepWarning) else event.level
            row.logs.append(f"[{level}] {event.message}")
            if key != step:
                self.rows[step].logs.append(f"[{level}] {event.task}: {event.message}")
            if self.open_key in (key, step):
                self.query_one("#log", RichLog).write(f"[{level}] {event.message}")
        elif isinstance(event, ev.TaskFinished):
            row.status, row.finished = event.outcome, now
            message = event.message
            self._complete_bar(widget, event.outcome)
        elif isinstance(event, ev.StepSkipped):
            row.status = "skipped"
            message = f"skipped: {event.reason}"
        elif isinstance(event, ev.StepFinished):
            row.status, row.finished = event.outcome, now
            if row.started is None:
                row.started = now - event.duration
            self._stop_children(step, now, event.outcome)
            message = event.message if event.outcome not in ("ok", "succeeded") else ""
            if event.remediation:
                row.logs.append(f"[remediation] {event.remediation}")
            self._complete_bar(widget, event.outcome)
        widget.refresh_row(now, message)

    @staticmethod
    def _complete_bar(widget: ProgressRow, outcome: str) -> None:
        bar = widget.query_one(ProgressBar)
        if outcome in ("ok", "succeeded"):
            bar.visible = True
            total = bar.total or 1
            bar.update(total=total, progress=total)

    def _stop_children(self, step: str, now: float, outcome: str) -> None:
        """A step that ended leaves none of its tasks running (their clocks stop with it). A step that succeeded
        did all its tasks, reported as ended or not ("stopped" there read as if something had been cut short)."""
        done = outcome in ("ok", "succeeded")
        for key, row in self.rows.items():
            if key.startswith(step + "/") and row.status in ("running", "pending"):
                row.status, row.finished = ("succeeded" if done else "stopped"), now
                if done:
                    self._complete_bar(self.widgets[key], "succeeded")
                self.widgets[key].refresh_row(now)

    def _finish(self, event: ev.RunFinished) -> None:
        self.post_message(self.Running(None))
        self.wizard.exit_code = event.exit_code
        now = self.wizard.clock()
        for key, row in self.rows.items():
            if row.status == "running":
                row.status, row.finished = "stopped", now
                self.widgets[key].refresh_row(now)
        cancel = self.query_one("#cancel-run", Button)
        cancel.disabled = True
        cancel.display = False
        close = self.query_one("#close", Button)
        close.disabled = False
        close.focus()
        lines = []
        answers_file = self.wizard.saved_path or self.wizard.state.answers_path
        if event.outcome == "ok" or event.exit_code == 0:
            lines.append("✓ DIGIT is installed.")
            ended = "installed"
        else:
            cancelled = event.exit_code == 130 or event.outcome in ("cancelled", "interrupted")
            ended = "cancelled" if cancelled else f"failed at {event.failed_step or 'a step'}"
            lines.append(f"✗ The install {'was cancelled' if cancelled else 'stopped'} at {event.failed_step or 'a step'}: {event.message}")
            failed = self.rows.get(event.failed_step or "")
            remediation = [line for line in (failed.logs if failed else []) if line.startswith("[remediation]")]
            lines += [line.replace("[remediation] ", "  what to do: ") for line in remediation]
            lines.append(f"  {'Resume' if cancelled else 'Fix it, then resume'} with: {install_sh()} --answers {answers_file} --resume")
        self.query_one(".page-header", Label).update(f" DIGIT installer  ·  {'Installed' if ended == 'installed' else 'Install ' + ended}")
        self.refresh_bindings()  # the footer stops offering Cancel once nothing runs
        summary = self.rows.get("summary")
        if summary is not None:
            lines += [line.split("] ", 1)[-1] for line in summary.logs if line.startswith("[info]")]
        else:
            fqdn = (self.wizard.state.draft.get("domain") or {}).get("fqdn")
            if fqdn:
                lines.append(f"  DIGIT: https://{fqdn}/digit-ui/employee   citizens: https://{fqdn}/digit-ui/citizen")
            if self.engine is not None:
                lines.append(f"  generated credentials: in the cluster's secrets and under {self.engine.state_dir} (mode 0600)")
        lines.append(f"  debug log: {event.log_path}")
        text = "\n".join(lines)
        self.query_one("#summary", Static).update(text)
        self.query_one("#summary-box").display = True
        self.wizard.final_report = self._closing_text(answers_file) or text
        self.set_status("")

    def _closing_text(self, answers_file: Path) -> str:
        """The closing block every face prints, from the run's state directory (as the headless run prints it)."""
        if self.state_dir is None:
            return ""
        from installer.app.closing import closing_text

        try:
            return closing_text(self.state_dir, answers_file, explicit_state_dir=self.wizard.state.state_dir is not None)
        except Exception:  # the page's own summary is printed instead
            return ""

    # -- the log pane

    def on_progress_row_opened(self, message: ProgressRow.Opened) -> None:
        log = self.query_one("#log", RichLog)
        log.clear()
        self.open_key = message.key
        row = self.rows[message.key]
        log.write(f"— log of {row.title} (Esc closes) —")
        for line in row.logs:
            log.write(line)
        log.display = True

    def action_close_log(self) -> None:
        self.open_key = None
        self.query_one("#log").display = False

    def _tick(self) -> None:
        now = self.wizard.clock()
        for key, widget in self.widgets.items():
            if self.rows[key].status == "running":
                widget.refresh_row(now)

    def action_next(self) -> None:
        if self.finished is not None:
            self.app.exit(self.wizard.exit_code)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers what works here: Cancel while the install runs; never Back or Next (Close ends)."""
        if action == "cancel_run":
            return self.finished is None
        return action not in ("back", "next")

    def back_possible(self) -> bool:
        return False  # there is no going back once the install runs, nor after it (Close ends)

    def action_back(self) -> None:
        """There is no going back once the install runs."""
