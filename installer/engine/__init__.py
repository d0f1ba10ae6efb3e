"""The pipeline engine: steps, journal and resume, lock, events and faces, cancellation, watchdog, retries.

Steps are plain functions `def step(ctx: StepContext) -> Output` (see steps.py); the output (a dict or a
typed record with to_dict()) is journalled as the step's outputs and handed to later steps as
ctx.outputs[step_id]. Raise StepFailed(message, remediation=..., details=...) for a permanent failure,
TransientError (or let a network error escape) for one worth retrying; call ctx.progress/log/warn/task_done
to report and ctx.check_cancelled() or ctx.sleep() to stop promptly.

A face (the wizard's progress screen included) is any callable taking an Event:

    engine = Engine(build_steps(answers), answers=answers, state_dir=dir, install=answers.name,
                    resume=True, sinks=[on_event])
    result = engine.run()        # in a worker thread; engine.cancel() from the UI thread stops it
    result.exit_code             # 0, 1 or 130; result.failed_step, .message, .remediation, .log_path

Events: RunStarted, ResumePlan, StepStarted, StepSkipped, StepProgress (coalesced per step and task),
StepLog, StepWarning, TaskFinished, StepFinished, RunFinished; every string already masked.
"""
from installer.engine.events import (Event, EventBus, ResumePlan, RunFinished, RunStarted, StepFinished,
                                     StepLog, StepProgress, StepSkipped, StepStarted, StepWarning, TaskFinished)
from installer.engine.lock import InstallLock, LockHeld
from installer.engine.runner import Engine, RunResult, is_transient
from installer.exitcodes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from installer.engine.steps import Cancelled, Record, Retry, Step, StepContext, StepFailed, TransientError, as_record

__all__ = [
                                     "EXIT_FAILED",
                                     "EXIT_INTERRUPTED",
                                     "EXIT_OK",
                                     "Cancelled",
                                     "Engine",
                                     "Event",
                                     "EventBus",
                                     "InstallLock",
                                     "LockHeld",
                                     "Record",
                                     "ResumePlan",
                                     "Retry",
                                     "RunFinished",
                                     "RunResult",
                                     "RunStarted",
                                     "Step",
                                     "StepContext",
                                     "StepFailed",
                                     "StepFinished",
                                     "StepLog",
                                     "StepProgress",
                                     "StepSkipped",
                                     "StepStarted",
                                     "StepWarning",
                                     "TaskFinished",
                                     "TransientError",
                                     "as_record",
                                     "is_transient",
]
