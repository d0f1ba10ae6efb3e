"""The journal: one record per step, written atomically so a kill at any instant leaves a readable file.

A record left 'running' by a process that died is read back as 'interrupted';
that is what --resume reruns first.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from installer import redact
from installer.files import atomic_write

JOURNAL_NAME = "journal.json"
JOURNAL_VERSION = 1

PENDING = "pending"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
INTERRUPTED = "interrupted"
SKIPPED = "skipped"
DRY_RUN = "dry-run"


@dataclass
class StepRecord:
    id: str
    outcome: str = PENDING
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    message: str = ""
    remediation: str = ""
    digest: str = ""
    section_digests: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class RunRecord:
    run_id: str
    started: float
    pid: int
    host: str
    dry_run: bool = False
    resume: bool = False
    finished: float | None = None
    outcome: str = RUNNING
    log_path: str = ""
    command: str = ""
    # the run's pipeline goes on past this step, but the run was deliberately cut after it: a run that
    # succeeded up to there did not do the whole job ('' when the run is the whole pipeline)
    cut_after: str = ""
    note: dict[str, str] = field(default_factory=dict)  # what the command says of itself (e.g. its target)


def _read_own(path: Path) -> str:
    """The journal, refused when it is a symlink or someone else's (it decides which steps are skipped)."""
    from installer.state import open_state_file

    fd = open_state_file(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        return handle.read().decode("utf-8")


class JournalError(Exception):
    """The journal file exists but cannot be read."""


class Journal:
    """Step records and run history of one install, persisted as JSON in the state dir."""

    def __init__(self, state_dir: Path, install: str = "") -> None:
        self.path = Path(state_dir) / JOURNAL_NAME
        self.install = install
        self.steps: dict[str, StepRecord] = {}
        self.runs: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @classmethod
    def load(cls, state_dir: Path, install: str = "", running_is_dead: bool = True) -> Journal:
        """Read the journal; running_is_dead=False when another process may hold the lock and be running."""
        journal = cls(state_dir, install)
        for leftover in journal.path.parent.glob(f".{journal.path.name}.*"):
            try:
                if time.time() - leftover.stat().st_mtime > 60:
                    leftover.unlink()
            except OSError:
                pass
        if journal.path.exists():
            try:
                data = json.loads(_read_own(journal.path))
                if not isinstance(data, dict) or not isinstance(data.get("steps", []), list):
                    raise ValueError("not a journal object")
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise JournalError(f"{journal.path} cannot be read ({exc.__class__.__name__}: {exc}); move it aside "
                                   "to start the install over (steps are idempotent)") from None
            journal.install = data.get("install") or install
            journal.runs = list(data.get("runs", []))
            for item in data.get("steps", []):
                record = StepRecord.from_dict(item)
                journal.steps[record.id] = record
            if running_is_dead:
                journal._mark_dead_runs()
        return journal

    def _mark_dead_runs(self) -> None:
        """Records left 'running' belong to a process that is gone: they were interrupted."""
        for record in self.steps.values():
            if record.outcome == RUNNING:
                record.outcome = INTERRUPTED
                if not record.message:
                    record.message = "the installer process stopped while this step was running"
        for run in self.runs:
            if run.get("outcome") == RUNNING:
                run["outcome"] = INTERRUPTED

    def exists(self) -> bool:
        return self.path.exists()

    def record(self, step_id: str) -> StepRecord:
        with self._lock:
            if step_id not in self.steps:
                self.steps[step_id] = StepRecord(step_id)
            return self.steps[step_id]

    def arrange(self, order: list[str]) -> None:
        """Records for every step of the pipeline, in pipeline order (status shows steps not reached yet)."""
        with self._lock:
            steps = {sid: self.steps.get(sid) or StepRecord(sid) for sid in order}
            steps.update({sid: rec for sid, rec in self.steps.items() if sid not in steps})
            self.steps = steps

    def get(self, step_id: str) -> StepRecord | None:
        return self.steps.get(step_id)

    def outputs(self) -> dict[str, dict[str, Any]]:
        return {sid: dict(rec.outputs) for sid, rec in self.steps.items() if rec.outcome == SUCCEEDED}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": JOURNAL_VERSION,
            "install": self.install,
            "updated": time.time(),
            "runs": self.runs,
            "steps": [asdict(rec) for rec in self.steps.values()],
        }

    def save(self) -> None:
        with self._lock:
            text = json.dumps(redact.mask_tree(self.to_dict()), indent=2, sort_keys=False, default=str)
        atomic_write(self.path, text)

    def start_run(self, run: RunRecord) -> None:
        with self._lock:
            self.runs.append(asdict(run))
            del self.runs[:-50]
        self.save()

    def finish_run(self, run_id: str, outcome: str) -> None:
        with self._lock:
            for run in self.runs:
                if run["run_id"] == run_id:
                    run["finished"] = time.time()
                    run["outcome"] = outcome
        self.save()
