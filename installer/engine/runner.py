"""Runs a list of steps: lock, journal, resume plan, retries, watchdog, cancellation."""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterable

from installer import redact
from installer.exitcodes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from installer.engine import events as ev
from installer.engine import journal as jr
from installer.engine.digest import combine, step_inputs
from installer.engine.lock import InstallLock
from installer.engine.logfile import RunLog
from installer.state import StateDiskFull, ensure_state_dir, is_disk_full
from installer.files import atomic_write
from installer.engine.steps import Cancelled, KillHook, Step, StepContext, StepFailed, TransientError, as_record

log = logging.getLogger("installer.engine")


TRANSIENT_STATUS = {409, 429, 500, 502, 503, 504}
TRANSIENT_NAMES = {"OperationalError", "ProtocolError", "MaxRetryError", "NewConnectionError",
                   "ReadTimeoutError", "ConnectTimeoutError", "SSHException", "NoValidConnectionsError"}
CANCEL_GRACE = 30.0
TIMEOUT_GRACE = 5.0


def is_transient(exc: BaseException) -> bool:
    """Network trouble and API conflicts are worth another attempt; everything else fails at once."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, (StepFailed, Cancelled)):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if getattr(exc, "transient", None) is True:  # an adapter error that says so (e.g. KubeError)
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & TRANSIENT_NAMES:
        return True
    status = getattr(exc, "status", None)
    return "ApiException" in names and status in TRANSIENT_STATUS


@dataclass
class Decision:
    step: Step
    run: bool
    reason: str
    digest: str = ""
    sections: dict[str, str] = field(default_factory=dict)
    recheck: bool = False


@dataclass
class RunResult:
    exit_code: int
    outcome: str
    log_path: Path
    failed_step: str | None = None
    message: str = ""
    remediation: str = ""
    stale_lock: dict[str, Any] | None = None


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid()}"


class Engine:
    """One run of a pipeline over one install's state directory.

    The step function runs in a worker thread; the calling (main) thread
    watches it, so signal handlers, the stall watchdog and the hard timeout
    keep working while the step blocks on I/O.
    """

    def __init__(self, steps: Iterable[Step], *, answers: Any, state_dir: Path, install: str,
                 dry_run: bool = False, resume: bool = False, sinks: Iterable[ev.Sink] = (),
                 answers_path: Path | None = None, command: str = "install", cut_after: str = "",
                 run_note: dict[str, str] | None = None, continues_journal: bool = False) -> None:
        self.steps = list(steps)
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate step ids in {ids}")
        self.answers = answers
        self.state_dir = Path(state_dir)
        self.install = install
        self.dry_run = dry_run
        self.resume = resume
        # A command that always goes on from the install's journal (the upgrade) skips what is done as its
        # normal way of working: that is not a resume to announce, nor to record as one.
        self.announce_resume = resume and not continues_journal
        self.answers_path = answers_path
        self.command = command
        # the journal records that this run is the pipeline cut after that step on purpose (see RunRecord)
        self.cut_after = cut_after
        self.run_note = dict(run_note or {})
        self.bus = ev.EventBus(sinks)
        self.cancel_event = threading.Event()
        self.cancel_reason = ""
        self.kill_hook = KillHook.from_env()
        self.run_id = new_run_id()
        self.journal: jr.Journal | None = None
        self.run_log: RunLog | None = None
        self.current: tuple[Step, jr.StepRecord] | None = None
        self._signals_seen = 0
        self._attempt_cancel: threading.Event | None = None

    # -- cancellation ---------------------------------------------------------------
    def cancel(self, reason: str = "cancelled by the operator") -> None:
        self.cancel_reason = reason
        self.cancel_event.set()
        if self._attempt_cancel is not None:
            self._attempt_cancel.set()

    def handle_signal(self, signum: int, frame: object = None) -> None:
        """First Ctrl+C/SIGTERM cancels cooperatively; a second one exits at once."""
        self._signals_seen += 1
        name = signal.Signals(signum).name
        if self._signals_seen == 1:
            step = self.current[0].id if self.current else None
            self.bus.emit(ev.StepWarning(step, f"{name} received: stopping after the current operation "
                                               "(press Ctrl+C again to exit at once)"))
            self.cancel(f"{name} received")
            return
        self._record_interrupted(f"{name} received twice: exited at once")
        if self.run_log is not None:
            self.run_log.write(f"{name} received twice: exiting at once with {EXIT_INTERRUPTED}")
            self.run_log.close()
        os._exit(EXIT_INTERRUPTED)

    def install_signal_handlers(self) -> dict[signal.Signals, Any]:
        previous: dict[signal.Signals, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, self.handle_signal)
        return previous

    def _record_interrupted(self, message: str) -> None:
        if self.dry_run or self.journal is None or self.current is None:
            return
        _, record = self.current
        record.outcome = jr.INTERRUPTED
        record.finished = time.time()
        record.message = message
        try:
            self.journal.save()
        except OSError:
            pass

    # -- planning -------------------------------------------------------------------
    def digests(self, step: Step) -> dict[str, str]:
        return step_inputs(step, self.answers)

    def plan(self, journal: jr.Journal) -> list[Decision]:
        """Which steps run and why; with --resume, succeeded steps with unchanged inputs are skipped."""
        decisions: list[Decision] = []
        cascading: set[str] = set()
        present = {s.id for s in self.steps}
        for step in self.steps:
            parts = self.digests(step)
            digest = combine(parts)
            record = journal.get(step.id)
            reason = ""
            cascade = not step.always_run
            if not self.resume:
                reason = "dry run" if self.dry_run else "full run"
            elif record is None or record.outcome in (jr.PENDING, jr.SKIPPED):
                reason = "not run yet"
            elif record.outcome != jr.SUCCEEDED:
                when = time.strftime("%H:%M:%S", time.gmtime(record.finished or record.started or 0))
                first_line = record.message.strip().splitlines()[0][:200] if record.message.strip() else ""
                reason = f"{record.outcome} at {when} UTC" + (f": {first_line}" if first_line else "")
            elif record.digest != digest and _sections(record.section_digests) != _sections(parts):
                # Another command's pipeline ran a step of this id over other sections (the install's
                # validate checks every section, the upgrade's only what it reads): naming every
                # section of either as "changed" would say what did not happen.
                reason = f"last run by another command, over other inputs (run {record.run_id or 'unknown'})"
            elif record.digest != digest:
                changed = sorted(k for k in set(parts) | set(record.section_digests)
                                 if parts.get(k) != record.section_digests.get(k))
                reason = "inputs changed: " + (", ".join(c.lstrip("+") for c in changed) or "digest")
            elif upstream := [n for n in step.needs if n in cascading and n in present]:
                reason = f"depends on {', '.join(upstream)}, which reruns"
            elif step.always_run:
                reason = "always rechecked"
            if reason:
                if cascade:
                    cascading.add(step.id)
                recheck = step.always_run and record is not None and record.outcome == jr.SUCCEEDED
                decisions.append(Decision(step, True, reason, digest, parts, recheck=recheck))
            else:
                assert record is not None  # nothing to rerun means a succeeded record exists
                done = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.finished or 0))
                decisions.append(Decision(step, False, f"succeeded {done} UTC, inputs unchanged", digest, parts))
        return decisions

    # -- running --------------------------------------------------------------------
    def run(self) -> RunResult:
        try:
            return self._run()
        except OSError as exc:
            if is_disk_full(exc):
                raise StateDiskFull(self.state_dir) from None
            raise

    def _run(self) -> RunResult:
        started = time.monotonic()
        ensure_state_dir(self.state_dir)
        lock = InstallLock(self.state_dir, command=self.command).acquire()
        try:
            self.run_log = RunLog(self.state_dir, self.run_id)
            self.bus.add_sink(self.run_log)
            self.bus.start()
            if lock.stale_holder:
                self.bus.emit(ev.StepWarning(None, "took over a stale lock left by a process that is gone: "
                                                   f"pid {lock.stale_holder.get('pid')} on {lock.stale_holder.get('host')}"))
            return self._run_locked(started, lock)
        finally:
            try:
                self.bus.close()
            finally:
                if self.run_log is not None:
                    self.run_log.close()
                lock.release()

    def _copy_answers(self) -> None:
        if self.answers_path is None or self.dry_run:
            return
        text = Path(self.answers_path).read_text(encoding="utf-8")
        atomic_write(self.state_dir / "answers.yaml", redact.mask(text))

    def _run_locked(self, started: float, lock: InstallLock) -> RunResult:
        journal = jr.Journal.load(self.state_dir, self.install)
        self.journal = journal
        decisions = self.plan(journal)
        assert self.run_log is not None  # opened by _run under the lock
        log_path = self.run_log.path
        self.bus.emit(ev.RunStarted(None, install=self.install, run_id=self.run_id, log_path=str(log_path),
                                    steps=tuple(s.id for s in self.steps), dry_run=self.dry_run,
                                    resume=self.announce_resume, command=self.command))
        if self.resume:
            start = next((d.step.id for d in decisions if d.run and not d.recheck), None)
            self.bus.emit(ev.ResumePlan(None, skipped=tuple((d.step.id, d.reason) for d in decisions if not d.run),
                                        rerun=tuple((d.step.id, d.reason) for d in decisions if d.run), start=start,
                                        command=self.command, resumed=self.announce_resume))
        if not self.dry_run:
            self._copy_answers()
            journal.arrange([s.id for s in self.steps])
            if not self.resume:
                for record in journal.steps.values():
                    record.outcome, record.message, record.remediation = jr.PENDING, "", ""
                    record.outputs, record.details = {}, {}
            journal.start_run(jr.RunRecord(self.run_id, time.time(), os.getpid(), socket.gethostname(),
                                           self.dry_run, self.announce_resume, log_path=str(log_path),
                                           command=self.command, cut_after=self.cut_after, note=self.run_note))
        outputs = journal.outputs()
        result = RunResult(EXIT_OK, jr.SUCCEEDED, log_path, stale_lock=lock.stale_holder)
        for decision in decisions:
            step = decision.step
            if self.cancel_event.is_set():
                result = RunResult(EXIT_INTERRUPTED, jr.INTERRUPTED, log_path, step.id, self.cancel_reason)
                break
            if not decision.run:
                self.bus.emit(ev.StepSkipped(step.id, decision.reason))
                continue
            outcome = self._run_step(decision, outputs)
            if outcome.outcome != jr.SUCCEEDED:
                result = outcome
                result.log_path = log_path
                break
        duration = time.monotonic() - started
        if not self.dry_run:
            journal.finish_run(self.run_id, result.outcome)
        self.bus.emit(ev.RunFinished(None, outcome=result.outcome if not self.dry_run or result.outcome != jr.SUCCEEDED
                                     else jr.DRY_RUN, exit_code=result.exit_code, duration=duration,
                                     log_path=str(log_path), failed_step=result.failed_step,
                                     message=result.message))
        return result

    def _run_step(self, decision: Decision, outputs: dict[str, dict[str, Any]]) -> RunResult:
        step = decision.step
        journal = self.journal
        assert journal is not None  # loaded by _run_locked
        self.kill_hook.at(f"before:{step.id}")
        record = journal.record(step.id)
        if not self.dry_run:
            record.outcome, record.started, record.finished = jr.RUNNING, time.time(), None
            record.attempts, record.message, record.remediation = 0, "", ""
            record.digest, record.section_digests, record.run_id = decision.digest, decision.sections, self.run_id
            record.outputs, record.details = {}, {}
        self.current = (step, record)
        t0 = time.monotonic()
        attempt = 0
        try:
            while True:
                attempt += 1
                record.attempts = attempt
                if not self.dry_run:
                    journal.save()
                self.bus.emit(ev.StepStarted(step.id, title=step.title, attempt=attempt))
                status, value = self._attempt(step, outputs, attempt)
                if status == "ok":
                    step_outputs = as_record(value)
                    outputs[step.id] = step_outputs
                    self._finish(record, jr.SUCCEEDED, "", "", step_outputs, t0, attempt)
                    self.kill_hook.at(f"after:{step.id}")
                    return RunResult(EXIT_OK, jr.SUCCEEDED, Path())
                if status == "cancelled":
                    message = self.cancel_reason or "cancelled"
                    self._finish(record, jr.INTERRUPTED, message, "rerun with --resume to continue", None, t0, attempt)
                    return RunResult(EXIT_INTERRUPTED, jr.INTERRUPTED, Path(), step.id, message,
                                     "rerun with --resume to continue")
                exc = value
                if status == "timeout":
                    return self._fail(record, step, t0, attempt, exc.message, exc.remediation, exc.details)
                if is_transient(exc) and attempt < step.retry.attempts:
                    delay = step.retry.delay(attempt)
                    self.bus.emit(ev.StepWarning(step.id, f"attempt {attempt}/{step.retry.attempts} failed: "
                                                          f"{_describe_error(exc)}; retrying in {delay:g}s"))
                    if self.cancel_event.wait(delay):
                        message = self.cancel_reason or "cancelled"
                        self._finish(record, jr.INTERRUPTED, message, "rerun with --resume to continue",
                                     None, t0, attempt)
                        return RunResult(EXIT_INTERRUPTED, jr.INTERRUPTED, Path(), step.id, message)
                    continue
                if isinstance(exc, StepFailed):
                    return self._fail(record, step, t0, attempt, exc.message, exc.remediation, exc.details)
                log.debug("step %s raised:\n%s", step.id, "".join(traceback.format_exception(exc)))
                if is_transient(exc):
                    message = f"gave up after {attempt} attempts: {_describe_error(exc)}"
                    remediation = "check connectivity to the target, then rerun with --resume"
                else:
                    message = f"unexpected error: {_describe_error(exc)}"
                    remediation = "see the debug log for the traceback; rerun with --resume after fixing the cause"
                return self._fail(record, step, t0, attempt, message, remediation, {})
        finally:
            self.current = None

    def _fail(self, record: jr.StepRecord, step: Step, t0: float, attempt: int, message: str, remediation: str,
              details: dict[str, Any]) -> RunResult:
        self._finish(record, jr.FAILED, message, remediation, None, t0, attempt, details)
        return RunResult(EXIT_FAILED, jr.FAILED, Path(), step.id, message, remediation)

    def _finish(self, record: jr.StepRecord, outcome: str, message: str, remediation: str,
                outputs: dict[str, Any] | None, t0: float, attempt: int, details: dict[str, Any] | None = None) -> None:
        duration = time.monotonic() - t0
        if not self.dry_run:
            record.outcome, record.finished = outcome, time.time()
            record.message, record.remediation = redact.mask(message), redact.mask(remediation)
            record.outputs = outputs or {}
            record.details = details or {}
            assert self.journal is not None  # loaded by _run_locked
            self.journal.save()
        self.bus.emit(ev.StepFinished(record.id, outcome=outcome if not self.dry_run or outcome != jr.SUCCEEDED
                                      else jr.DRY_RUN, duration=duration, message=message,
                                      remediation=remediation, attempts=attempt))

    def _attempt(self, step: Step, outputs: dict[str, dict[str, Any]], attempt: int) -> tuple[str, Any]:
        """Run one attempt in a worker thread, watching for stalls, the hard timeout and cancellation."""
        attempt_cancel = threading.Event()
        if self.cancel_event.is_set():
            attempt_cancel.set()
        self._attempt_cancel = attempt_cancel
        ctx = StepContext(step=step, answers=self.answers, state_dir=self.state_dir, dry_run=self.dry_run,
                          outputs=outputs, bus=self.bus, cancelled=attempt_cancel, kill_hook=self.kill_hook,
                          attempt=attempt)
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["value"] = step.run(ctx)
            except BaseException as exc:  # handed to the main thread
                box["error"] = exc

        worker = threading.Thread(target=work, name=f"step-{step.id}", daemon=True)
        t0 = time.monotonic()
        worker.start()
        next_stall = step.stall_after
        cancel_deadline = None
        while worker.is_alive():
            worker.join(0.1)
            if not worker.is_alive():
                break
            now = time.monotonic()
            idle = now - ctx.last_activity
            if idle >= next_stall:
                waiting = ctx.last_state if ctx.last_state != "started" else (step.waiting_for or "the step to report")
                self.bus.emit(ev.StepWarning(step.id, f"no progress for {int(idle)}s; waiting for {waiting}"))
                next_stall = idle + step.stall_after
            elif idle < step.stall_after:
                next_stall = step.stall_after
            if self.cancel_event.is_set():
                attempt_cancel.set()
                cancel_deadline = cancel_deadline or now + CANCEL_GRACE
                if now > cancel_deadline:
                    log.warning("step %s did not stop within %ss of cancellation", step.id, CANCEL_GRACE)
                    return "cancelled", None
            if now - t0 > step.timeout:
                attempt_cancel.set()
                worker.join(TIMEOUT_GRACE)
                state = ctx.last_state
                return "timeout", StepFailed(
                    f"timed out after {step.timeout:g}s; last known state: {state}",
                    remediation="check what the step was waiting for (see the debug log and the support bundle), "
                                "then rerun with --resume")
        self._attempt_cancel = None
        error = box.get("error")
        if error is None:
            value = box.get("value")
            if value is not None and not isinstance(value, dict) and not callable(getattr(value, "to_dict", None)):
                return "error", TypeError(f"step {step.id} returned {type(value).__name__}, "
                                          "expected a dict or a record with to_dict()")
            return "ok", value
        if isinstance(error, Cancelled) or (self.cancel_event.is_set() and not isinstance(error, StepFailed)):
            return "cancelled", None
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            return "cancelled", None
        return "error", error


def _describe_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, (StepFailed, TransientError)):
        return redact.mask(text)
    return redact.mask(f"{type(exc).__name__}: {text}")


def _sections(parts: dict[str, str]) -> set[str]:
    """The answers sections a step reads (its `+extra` inputs may vary from run to run; these do not)."""
    return {name for name in parts if not name.startswith("+")}
