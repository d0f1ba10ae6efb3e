"""The pipeline engine: steps, journal and resume, lock, events and faces, cancellation, watchdog, retries.

Steps are plain functions `def step(ctx: StepContext) -> dict`; see steps.py.
"""
from installer.engine.events import (Event, EventBus, ResumePlan, RunFinished, RunStarted, StepFinished,
                                     StepLog, StepProgress, StepSkipped, StepStarted, StepWarning, TaskFinished)
from installer.engine.lock import InstallLock, LockHeld
from installer.engine.runner import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Engine, RunResult, is_transient
from installer.engine.steps import Cancelled, Retry, Step, StepContext, StepFailed, TransientError

__all__ = [
    "Cancelled", "Engine", "Event", "EventBus", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "InstallLock",
    "LockHeld", "ResumePlan", "Retry", "RunFinished", "RunResult", "RunStarted", "Step", "StepContext",
    "StepFailed", "StepFinished", "StepLog", "StepProgress", "StepSkipped", "StepStarted", "StepWarning",
    "TaskFinished", "TransientError", "is_transient",
]
