"""Typed pipeline events and the bus that carries them to the faces.

Every face (rich, plain, JSON lines, the wizard's progress screen, the debug
log) consumes the same stream. Progress floods are coalesced on the bus: a
progress event for a (step, task) that still waits undelivered is replaced in
place by the newer one, so a slow face sees the latest state, never a backlog.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Iterable

from installer import redact
from installer.text import printable


@dataclass(frozen=True)
class Event:
    step: str | None
    time: float = field(default_factory=time.time, kw_only=True)

    kind = "event"

    def to_dict(self) -> dict[str, Any]:
        data = {"event": self.kind}
        data.update(dataclasses.asdict(self))
        return data


@dataclass(frozen=True)
class RunStarted(Event):
    install: str
    run_id: str
    log_path: str
    steps: tuple[str, ...]
    dry_run: bool = False
    resume: bool = False
    command: str = "install"  # install, upgrade or uninstall
    kind = "run.started"


@dataclass(frozen=True)
class ResumePlan(Event):
    """What --resume will skip and rerun, and why; emitted before any step starts."""
    skipped: tuple[tuple[str, str], ...]
    rerun: tuple[tuple[str, str], ...]
    start: str | None = None
    command: str = "install"
    resumed: bool = True  # False: a command that always goes on from the journal (Engine continues_journal)
    kind = "run.plan"


@dataclass(frozen=True)
class StepStarted(Event):
    title: str
    attempt: int = 1
    kind = "step.started"


@dataclass(frozen=True)
class StepSkipped(Event):
    reason: str
    kind = "step.skipped"


@dataclass(frozen=True)
class StepProgress(Event):
    done: float
    total: float | None
    unit: str = ""
    message: str = ""
    task: str | None = None
    kind = "step.progress"


@dataclass(frozen=True)
class StepLog(Event):
    message: str
    level: str = "info"
    task: str | None = None
    kind = "step.log"


@dataclass(frozen=True)
class StepWarning(Event):
    message: str
    task: str | None = None
    kind = "step.warning"


@dataclass(frozen=True)
class TaskFinished(Event):
    """A sub-task (a node, a Helm release) under a step reached an end state."""
    task: str
    outcome: str
    message: str = ""
    kind = "task.finished"


@dataclass(frozen=True)
class StepFinished(Event):
    outcome: str
    duration: float
    message: str = ""
    remediation: str = ""
    attempts: int = 1
    kind = "step.finished"


@dataclass(frozen=True)
class RunFinished(Event):
    outcome: str
    exit_code: int
    duration: float
    log_path: str
    failed_step: str | None = None
    message: str = ""
    kind = "run.finished"


def masked(event: Event) -> Event:
    """The event with every string field passed through the redactor and made safe for a terminal.

    Escaping control characters here, once, covers every face that shows events (the wizard's
    progress page included), not only those that remember to call `printable` themselves.
    """
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, str):
            clean = printable(redact.mask(value))
            if clean != value:
                changes[f.name] = clean
    return dataclasses.replace(event, **changes) if changes else event


Sink = Callable[[Event], None]


class EventBus:
    """Queues events from step threads and delivers them to sinks on one dispatcher thread.

    emit() never blocks on a face. Sinks run on the dispatcher thread in order;
    a sink that raises is dropped (reported once to the remaining sinks) rather
    than stopping the install.
    """

    def __init__(self, sinks: Iterable[Sink] = ()) -> None:
        self._sinks: list[Sink] = list(sinks)
        self._queue: deque[list[Event]] = deque()
        self._pending_progress: dict[tuple[str | None, str | None], list[Event]] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.emitted = 0
        self.delivered = 0
        self.coalesced = 0

    def add_sink(self, sink: Sink) -> None:
        self._sinks.append(sink)

    def start(self) -> EventBus:
        self._thread = threading.Thread(target=self._run, name="event-dispatch", daemon=True)
        self._thread.start()
        return self

    def emit(self, event: Event) -> None:
        event = masked(event)
        with self._cond:
            self.emitted += 1
            if isinstance(event, StepProgress):
                key = (event.step, event.task)
                slot = self._pending_progress.get(key)
                if slot is not None:
                    slot[0] = event
                    self.coalesced += 1
                    return
                slot = [event]
                self._pending_progress[key] = slot
                self._queue.append(slot)
            else:
                self._queue.append([event])
            self._cond.notify()
        if self._thread is None:
            self._drain()

    def _take(self) -> Event | None:
        with self._cond:
            if not self._queue:
                return None
            slot = self._queue.popleft()
            event = slot[0]
            if isinstance(event, StepProgress):
                key = (event.step, event.task)
                if self._pending_progress.get(key) is slot:
                    del self._pending_progress[key]
            return event

    def _deliver(self, event: Event) -> None:
        for sink in list(self._sinks):
            try:
                sink(event)
            except Exception as exc:  # a broken face must not stop the install
                self._sinks.remove(sink)
                note = StepWarning(event.step, f"an output face stopped: {type(exc).__name__}: {redact.mask(str(exc))}")
                for other in list(self._sinks):
                    try:
                        other(note)
                    except Exception:
                        self._sinks.remove(other)
        self.delivered += 1

    def _drain(self) -> None:
        while (event := self._take()) is not None:
            self._deliver(event)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait(0.5)
                if not self._queue and self._closed:
                    return
            self._drain()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything emitted so far has reached the sinks."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if self.delivered + self.coalesced >= self.emitted:
                    break
            time.sleep(0.005)

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._drain()
