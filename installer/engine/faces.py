"""Headless faces: plain timestamped lines, JSON lines, and a rich live display.

Each face is a sink (a callable taking an event) that the event bus calls on
its dispatcher thread. Every line is masked once more before it is written.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from typing import IO, TYPE_CHECKING

from installer import redact
from installer.engine import events as ev
from installer.engine.logfile import describe, stamp
from installer.text import printable

if TYPE_CHECKING:
    from rich.progress import TaskID

FACES = ("rich", "plain", "json")


def _show(text: str) -> str:
    """Masked, and with control characters escaped: text from nodes must not drive the terminal."""
    return printable(redact.mask(text))


def default_face(stream: IO[str] | None = None) -> str:
    stream = stream or sys.stdout
    try:
        return "rich" if stream.isatty() else "plain"
    except (AttributeError, ValueError):
        return "plain"


class PlainFace:
    """One timestamped line per event, for CI logs and tee (debug lines go to the log file only).

    Progress lines for one (step, task) are further limited to one per
    `progress_interval` seconds unless the count reaches its total, so a chatty
    step cannot bury its warnings.
    """

    def __init__(self, stream: IO[str] | None = None, progress_interval: float = 1.0) -> None:
        self.stream = stream or sys.stdout
        self.progress_interval = progress_interval
        self._last_progress: dict[tuple[str | None, str | None], float] = {}
        self.lines = 0

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.StepLog) and event.level == "debug":
            return
        if isinstance(event, ev.StepProgress):
            key = (event.step, event.task)
            now = time.monotonic()
            last = self._last_progress.get(key)
            complete = event.total is not None and event.done >= event.total
            if last is not None and now - last < self.progress_interval and not complete:
                return
            self._last_progress[key] = now
        self.stream.write(_show(f"{stamp(event.time)} {describe(event)}") + "\n")
        self.stream.flush()
        self.lines += 1

    def close(self) -> None:
        self.stream.flush()


class JsonFace:
    """One JSON object per event per line (the coalesced stream)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lines = 0

    def __call__(self, event: ev.Event) -> None:
        data = event.to_dict()
        self.stream.write(redact.mask(json.dumps(data, default=str)) + "\n")  # json escapes controls itself
        self.stream.flush()
        self.lines += 1

    def close(self) -> None:
        self.stream.flush()


class RichFace:
    """A live display (rich.progress): one line per running step and sub-task with a progress bar.

    Finished steps, warnings and errors scroll above the live area, so the
    terminal keeps a readable record after the run ends.
    """

    def __init__(self, stream: IO[str] | None = None, refresh_per_second: float = 8,
                 force_terminal: bool | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.table import Column

        self.console = Console(file=stream or sys.stdout, force_terminal=force_terminal, highlight=False)
        # Fixed widths for every column but the note, so nothing shifts between frames as labels and
        # counts change; the note takes what is left of the terminal and is shortened at a word.
        width = self.console.width
        self.label_width = max(16, min(30, width // 3))
        self.note_width = max(10, width - self.label_width - 2 - 12 - 12 - 8 - 5)
        self.progress = Progress(
            SpinnerColumn(table_column=Column(width=1, no_wrap=True)),
            TextColumn("{task.description}", table_column=Column(width=self.label_width, no_wrap=True,
                                                                   overflow="ellipsis")),
            BarColumn(bar_width=10, table_column=Column(width=10, no_wrap=True)),
            TextColumn("{task.fields[count]}", table_column=Column(width=12, no_wrap=True, overflow="ellipsis")),
            TimeElapsedColumn(table_column=Column(width=7, no_wrap=True)),
            TextColumn("{task.fields[note]}", table_column=Column(width=self.note_width, no_wrap=True,
                                                                   overflow="ellipsis")),
            console=self.console, auto_refresh=True, refresh_per_second=refresh_per_second,
            redirect_stdout=False, redirect_stderr=False, expand=False)
        self._tasks: dict[tuple[str | None, str | None], TaskID] = {}
        self._lock = threading.Lock()
        self._started = False
        self.lines = 0

    def _note(self, text: str) -> str:
        """A live note shortened at a word boundary (never cut mid-word) to the note column."""
        import textwrap

        text = " ".join(_show(text).split())
        return textwrap.shorten(text, width=self.note_width, placeholder=" …") if len(text) > self.note_width else text

    def _print(self, text: str, style: str = "") -> None:
        from rich.text import Text
        # wrapped by rich at word boundaries to the terminal's width (soft wrapping left it to the
        # terminal, which cuts words)
        self.console.print(Text(_show(text), style=style), overflow="fold")
        self.lines += 1

    def _task(self, step: str | None, task: str | None, title: str | None = None) -> TaskID:
        key = (step, task)
        if key not in self._tasks:
            label = f"  {task}" if task else (title or step or "")
            self._tasks[key] = self.progress.add_task(_show(label), total=None, note="", count="")
        return self._tasks[key]

    def _drop(self, step: str | None, task: str | None = None) -> None:
        keys = [k for k in self._tasks if k[0] == step and (task is None or k[1] == task)]
        for key in keys:
            self.progress.remove_task(self._tasks.pop(key))

    def __call__(self, event: ev.Event) -> None:
        with self._lock:
            if not self._started:
                self.progress.start()
                self._started = True
            if isinstance(event, ev.StepStarted):
                tid = self._task(event.step, None, f"{event.step}: {event.title}")
                if event.attempt > 1:
                    self.progress.update(tid, note=_show(f"attempt {event.attempt}"))
            elif isinstance(event, ev.StepProgress):
                tid = self._task(event.step, event.task)
                count = f"{event.done:g}/{event.total:g}" if event.total is not None else f"{event.done:g}"
                self.progress.update(tid, completed=event.done, total=event.total,
                                     count=f"{count} {event.unit}".strip(), note=self._note(event.message))
            elif isinstance(event, ev.StepLog):
                if event.level == "debug":
                    return
                if event.level in ("warning", "error"):
                    self._print(describe(event), "yellow")
                else:
                    tid = self._task(event.step, event.task) if event.task else self._task(event.step, None)
                    self.progress.update(tid, note=self._note(event.message))
            elif isinstance(event, ev.TaskFinished):
                self._drop(event.step, event.task)
                style = "green" if event.outcome == "succeeded" else "red"
                self._print(f"  {describe(event)}", style)
            elif isinstance(event, ev.StepWarning):
                self._print(f"! {describe(event)}", "yellow")
            elif isinstance(event, ev.StepFinished):
                self._drop(event.step)
                ok = event.outcome in ("succeeded", "dry-run")
                if ok:
                    self._print("✓ " + describe(event), "green")
                else:  # the message and remediation come once, in the closing block after the run
                    self._print(f"✗ [{event.step}] {event.outcome} in {event.duration:.1f}s", "bold red")
            elif isinstance(event, ev.StepSkipped):
                self._print(f"- {describe(event)}", "dim")
            elif isinstance(event, (ev.RunStarted, ev.ResumePlan)):
                self._print(describe(event), "bold")
            elif isinstance(event, ev.RunFinished):
                where = f" at step {event.failed_step}" if event.failed_step else ""
                self._print(f"run {event.outcome}{where} in {event.duration:.1f}s (exit {event.exit_code})",
                            "bold green" if event.exit_code == 0 else "bold red")

    def close(self) -> None:
        with self._lock:
            if self._started:
                self.progress.stop()
                self._started = False


def make_face(name: str, stream: IO[str] | None = None) -> PlainFace | JsonFace | RichFace:
    if name == "plain":
        return PlainFace(stream)
    if name == "json":
        return JsonFace(stream)
    if name == "rich":
        return RichFace(stream)
    raise ValueError(f"unknown output face {name!r}; expected one of {', '.join(FACES)}")
