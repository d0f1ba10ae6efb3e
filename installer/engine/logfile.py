"""The full debug log of one run: every event and every installer log record, masked."""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from installer import redact
from installer.text import printable
from installer.engine import events as ev

LOG_DIR = "logs"


def stamp(t: float | None = None) -> str:
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


def describe(event: ev.Event) -> str:
    """One human line per event; shared by the plain face and the log."""
    step = f"[{event.step}] " if event.step else ""
    if isinstance(event, ev.RunStarted):
        mode = " (dry run)" if event.dry_run else ""
        mode += " (resume)" if event.resume else ""
        what = "run" if event.command == "install" else f"{event.command} run"
        return (f"{what} {event.run_id} of install {event.install} started{mode}; steps: {', '.join(event.steps)}; "
                f"log: {event.log_path}")
    if isinstance(event, ev.ResumePlan):
        parts = [f"skip {sid} ({why})" for sid, why in event.skipped]
        parts += [f"rerun {sid} ({why})" for sid, why in event.rerun]
        if event.resumed:
            head = f"resuming from {event.start}" if event.start else "nothing to rerun"
        else:
            head = f"{event.command} starts at {event.start}" if event.start else "nothing to change"
        return head + ": " + "; ".join(parts)
    if isinstance(event, ev.StepStarted):
        attempt = f" (attempt {event.attempt})" if event.attempt > 1 else ""
        return f"{step}started: {event.title}{attempt}"
    if isinstance(event, ev.StepSkipped):
        return f"{step}skipped: {event.reason}"
    if isinstance(event, ev.StepProgress):
        task = f"{event.task}: " if event.task else ""
        if event.total:
            amount = f"{event.done:g}/{event.total:g}"
        else:
            amount = f"{event.done:g}"
        unit = f" {event.unit}" if event.unit else ""
        msg = f" {event.message}" if event.message else ""
        return f"{step}{task}{amount}{unit}{msg}"
    if isinstance(event, ev.StepLog):
        task = f"{event.task}: " if event.task else ""
        level = "" if event.level == "info" else f"{event.level}: "
        return f"{step}{level}{task}{event.message}"
    if isinstance(event, ev.StepWarning):
        task = f"{event.task}: " if event.task else ""
        return f"{step}WARNING: {task}{event.message}"
    if isinstance(event, ev.TaskFinished):
        msg = f" - {event.message}" if event.message else ""
        return f"{step}{event.task}: {event.outcome}{msg}"
    if isinstance(event, ev.StepFinished):
        msg = f": {event.message}" if event.message else ""
        rem = f" -> remediation: {event.remediation}" if event.remediation else ""
        tries = f", {event.attempts} attempts" if event.attempts > 1 else ""
        return f"{step}{event.outcome} in {event.duration:.1f}s{tries}{msg}{rem}"
    if isinstance(event, ev.RunFinished):
        where = f" at step {event.failed_step}" if event.failed_step else ""
        msg = f": {event.message}" if event.message else ""
        return f"run {event.outcome}{where} in {event.duration:.1f}s (exit {event.exit_code}){msg}; log: {event.log_path}"
    return f"{step}{event.kind}"


class _MaskingHandler(logging.Handler):
    def __init__(self, run_log: RunLog) -> None:
        super().__init__(logging.DEBUG)
        self.run_log = run_log

    def filter(self, record: logging.LogRecord) -> bool:
        """Everything from the installer; only warnings and worse from libraries."""
        return record.name == "installer" or record.name.startswith("installer.") or record.levelno >= logging.WARNING

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            self.run_log.write(f"{record.levelname.lower()} {record.name}: {text}", record.created)
        except Exception:  # noqa: S110 - a debug log that cannot be written must not print
            pass  # Python's "--- Logging error ---" on the terminal


class RunLog:
    """Opens logs/run-<time>-<pid>.log (0600) and receives events and Python log records."""

    def __init__(self, state_dir: Path, run_id: str) -> None:
        from installer.state import ensure_private_dir, open_state_file

        self.dir = ensure_private_dir(Path(state_dir) / LOG_DIR)
        self.path = self.dir / f"run-{run_id}.log"
        fd = open_state_file(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()
        self.broken: OSError | None = None
        self._handler = _MaskingHandler(self)
        self._installer_logger = logging.getLogger("installer")
        self._saved_level = self._installer_logger.level
        self._installer_logger.setLevel(logging.DEBUG)
        logging.getLogger().addHandler(self._handler)

    def write(self, line: str, t: float | None = None) -> None:
        text = printable(redact.mask(line))
        with self._lock:
            if self._file.closed or self.broken:
                return
            try:
                for part in text.splitlines() or [""]:
                    self._file.write(f"{stamp(t)} {part}\n")
            except OSError as exc:
                # A full disk: the run goes on (and says so); the log stops rather than crash the run.
                self.broken = exc

    def __call__(self, event: ev.Event) -> None:
        self.write(f"{event.kind} {describe(event)}", event.time)

    def close(self) -> None:
        logging.getLogger().removeHandler(self._handler)
        self._installer_logger.setLevel(self._saved_level)
        with self._lock:
            if not self._file.closed:
                try:
                    self._file.flush()
                    os.fsync(self._file.fileno())
                except OSError as exc:
                    self.broken = self.broken or exc
                try:
                    self._file.close()
                except OSError:
                    pass
