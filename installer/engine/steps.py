"""What a step is, what it may raise, and the context it runs with."""
from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol

from typing_extensions import TypeVar
from collections.abc import Callable, Mapping

from installer.engine import events as ev

KILL_HOOK_ENV = "DIGIT_INSTALLER_TEST_KILL_AT"
KILL_SIGNAL_ENV = "DIGIT_INSTALLER_TEST_KILL_SIGNAL"


class Record(Protocol):
    """A typed step output or failure detail: the journal keeps its to_dict(), later readers its from_dict()."""

    def to_dict(self) -> dict[str, Any]: ...


Recordable = Record | Mapping[str, Any] | None


def as_record(value: Recordable) -> dict[str, Any]:
    """What the journal stores for a step's output or a failure's details."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    return value.to_dict()


class Cancelled(Exception):
    """The run was cancelled (Ctrl+C, SIGTERM, timeout); the step stops at its next check."""


class StepFailed(Exception):
    """A permanent failure: the step stops and the run ends with a remediation for the operator.

    details (a typed record with to_dict(), or a mapping) is recorded in the journal so status
    and the support bundle can point at what broke; the domain that raises it owns its shape.
    """

    def __init__(self, message: str, remediation: str = "", details: Recordable = None) -> None:
        super().__init__(message)
        self.message = message
        self.remediation = remediation
        self.details: dict[str, Any] = as_record(details)


class TransientError(Exception):
    """A failure worth retrying (network blip, API conflict); the engine retries the step with backoff."""


@dataclass
class Retry:
    attempts: int = 3
    initial_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.initial_delay * self.factor ** (attempt - 1))


@dataclass
class Step:
    """One pipeline step.

    sections: the answer sections (dotted paths) its input digest covers.
    stall_after: seconds without progress before the watchdog warns.
    timeout: hard limit in seconds for one attempt.
    always_run: rerun on every resume (cheap, changes nothing); its rerun never forces dependents.
    waiting_for: what a stall warning names when the step has reported nothing yet.
    extra_inputs: named digests of inputs outside the answers (e.g. chart contents).
    """
    id: str
    title: str
    run: Callable[[StepContext], Any]  # returns a dict, a typed record (to_dict) or None
    needs: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    stall_after: float = 120.0
    timeout: float = 3600.0
    retry: Retry = field(default_factory=Retry)
    always_run: bool = False
    waiting_for: str = ""
    extra_inputs: Callable[[Any], dict[str, str]] | None = None


class KillHook:
    """Deterministic fault injection for tests: SIGKILL this process at a named point.

    DIGIT_INSTALLER_TEST_KILL_AT holds one point: 'before:STEP', 'after:STEP'
    (after the journal records the step's success) or 'progress:STEP:N' (at the
    N-th progress report of STEP). DIGIT_INSTALLER_TEST_KILL_SIGNAL=INT sends the
    operator's Ctrl+C there instead, which the run handles as it would a real one.
    """

    def __init__(self, spec: str | None, interrupt: bool = False) -> None:
        self.spec = (spec or "").strip()
        self.interrupt = interrupt

    @classmethod
    def from_env(cls) -> KillHook:
        return cls(os.environ.get(KILL_HOOK_ENV), os.environ.get(KILL_SIGNAL_ENV, "").upper() == "INT")

    def at(self, point: str) -> None:
        if self.spec and self.spec == point:
            if self.interrupt:
                os.kill(os.getpid(), signal.SIGINT)
                return
            os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(5)


# The answers a pipeline's steps read. The engine knows nothing of DIGIT, so it is a parameter: DIGIT's
# steps take StepContext[Answers] and are type-checked against the model; the engine's own code and
# generic tests use the default.
AnswersT = TypeVar("AnswersT", default=Any)


class StepContext(Generic[AnswersT]):
    """What a step function gets: answers, state dir, outputs of earlier steps, and ways to report.

    progress/log/warn are safe to call from any thread the step starts.
    """

    def __init__(self, *, step: Step, answers: AnswersT, state_dir: Path, dry_run: bool,
                 outputs: dict[str, dict[str, Any]], bus: ev.EventBus, cancelled: threading.Event,
                 kill_hook: KillHook, attempt: int = 1) -> None:
        self.step = step
        self.step_id = step.id
        self.answers = answers
        self.state_dir = Path(state_dir)
        self.dry_run = dry_run
        self.outputs = outputs
        self.cancelled = cancelled
        self.attempt = attempt
        self._bus = bus
        self._kill_hook = kill_hook
        self._progress_count = 0
        self._lock = threading.Lock()
        self.last_activity = time.monotonic()
        self.last_state = "started"

    def _touch(self, state: str) -> None:
        self.last_activity = time.monotonic()
        if state:
            self.last_state = state

    def progress(self, done: float, total: float | None = None, unit: str = "", message: str = "",
                 task: str | None = None) -> None:
        with self._lock:
            self._progress_count += 1
            count = self._progress_count
        where = f"{task}: " if task else ""
        amount = f"{done:g}/{total:g} {unit}".strip() if total is not None else f"{done:g} {unit}".strip()
        self._touch(f"{where}{amount}{' - ' + message if message else ''}")
        self._bus.emit(ev.StepProgress(self.step_id, done, total, unit, message, task))
        self._kill_hook.at(f"progress:{self.step_id}:{count}")
        self.check_cancelled()

    def log(self, message: str, level: str = "info", task: str | None = None) -> None:
        self._touch("")
        self._bus.emit(ev.StepLog(self.step_id, message, level, task))

    def warn(self, message: str, task: str | None = None) -> None:
        self._touch("")
        self._bus.emit(ev.StepWarning(self.step_id, message, task))

    def task_done(self, task: str, outcome: str = "succeeded", message: str = "") -> None:
        """A sub-task reached an end state (a node probed, a release ready or failed)."""
        self._touch(f"{task}: {outcome}")
        self._bus.emit(ev.TaskFinished(self.step_id, task, outcome, message))

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled(f"step {self.step_id} cancelled")

    def sleep(self, seconds: float) -> None:
        """Sleep that wakes up for cancellation."""
        if self.cancelled.wait(seconds):
            raise Cancelled(f"step {self.step_id} cancelled")
