"""Starting an install: the one place the headless run and the wizard's progress page both call.

Everything that must happen around every run happens here, so the faces cannot drift apart:
every referenced secret and every generated secret kept in the state directory is registered for
masking before the first line of output, the pipeline for the target kind is built, and a run
that cannot start (another run holds the lock, the journal is unreadable) comes back as a
refusal with the reason, never as an exception a face might not catch.
"""
from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING
from pathlib import Path
from collections.abc import Callable, Iterable

from installer.invocation import install_sh
from installer import redact
from installer.answers import Answers, unreadable_secrets
from installer.engine import Engine, RunResult, Step
from installer.engine.events import Sink
from installer.engine.journal import JournalError
from installer.engine.lock import LockHeld
from installer.exitcodes import EXIT_FAILED, EXIT_USAGE
from installer.secretstore import SecretStore
from installer.state import StateDiskFull, UnsafeStateError

if TYPE_CHECKING:
    from installer.deploy.lease import ClusterLease

StepsFor = Callable[[Answers], list[Step]]


@dataclass(frozen=True)
class InstallOutcome:
    """How a start ended: a finished run (result) or a refusal to start (refused, with its reason)."""

    exit_code: int
    result: RunResult | None = None
    refused: str = ""
    lock_holder: dict[str, object] | None = None


def register_generated(state_dir: Path) -> str:
    """Generated secrets kept in the state dir are masked from the first line of output too.

    Returns a warning when the store cannot be read (the configure step reports it properly).
    """
    try:
        SecretStore(state_dir).load()
    except Exception as exc:
        return redact.mask(f"warning: generated secrets not loaded for masking: {exc}")
    return ""


def register_secrets(answers: Answers, state_dir: Path) -> str:
    """Every secret this install can know of before it runs, registered with the redactor."""
    unreadable_secrets(answers)  # the validate step reports the unreadable ones
    return register_generated(state_dir)


def start_install(answers: Answers, state_dir: Path, *, sinks: Iterable[Sink], resume: bool = False,
                  dry_run: bool = False, answers_path: Path | None = None, steps_for: StepsFor | None = None,
                  on_engine: Callable[[Engine], None] | None = None, handle_signals: bool = False,
                  warn: Callable[[str], None] = lambda message: None, command: str = "install",
                  cut_after: str = "", run_note: dict[str, str] | None = None,
                  continues_journal: bool = False) -> InstallOutcome:
    """Run the install pipeline for `answers` over `state_dir`, reporting to `sinks`.

    on_engine receives the engine before it starts (a face keeps it to cancel the run);
    handle_signals installs Ctrl+C / SIGTERM handlers (only from the main thread);
    steps_for replaces the standard pipeline (tests and tools);
    cut_after and run_note are journaled with the run (a run of a pipeline cut short on purpose, and what the
    command says of itself), so `status` can tell such a run from one that did the whole job;
    continues_journal: the command always goes on from the install's journal (resume=True is its way of
    working, the upgrade's), so the run is neither announced nor recorded as a resume.
    """
    from installer.app.pipeline import build_steps

    warning = register_secrets(answers, state_dir)
    if warning:
        warn(warning)
    steps = (steps_for or build_steps)(answers)
    engine = Engine(steps, answers=answers, state_dir=state_dir, install=answers.name, dry_run=dry_run,
                    resume=resume, sinks=list(sinks), answers_path=answers_path, command=command,
                    cut_after=cut_after, run_note=run_note, continues_journal=continues_journal)
    if on_engine is not None:
        on_engine(engine)
    lease = None
    if not dry_run:
        from installer.deploy.lease import ClusterLocked

        try:
            lease = take_cluster_lease(answers, warn)
        except ClusterLocked as exc:
            return InstallOutcome(EXIT_FAILED, refused=redact.mask(f"refusing to start: {exc}"))
    previous = engine.install_signal_handlers() if handle_signals else {}
    try:
        result = engine.run()
    except LockHeld as exc:
        hint = (f"\n  wait for it to finish, or watch it with: {install_sh()} status "
                + (f"--answers {answers_path}" if answers_path else f"--state-dir {state_dir}"))
        return InstallOutcome(EXIT_FAILED, refused=redact.mask(f"refusing to start: {exc}{hint}"),
                              lock_holder=dict(exc.holder))
    except UnsafeStateError as exc:  # a state directory or file another user could have planted
        return InstallOutcome(EXIT_USAGE, refused=redact.mask(f"refusing to start: {exc}"))
    except StateDiskFull as exc:
        return InstallOutcome(EXIT_FAILED, refused=redact.mask(f"run stopped: {exc}"))
    except JournalError as exc:
        return InstallOutcome(EXIT_FAILED, refused=redact.mask(f"cannot resume: {exc}"))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if lease is not None:
            lease.release()
    return InstallOutcome(result.exit_code, result=result)


def take_cluster_lease(answers: Answers, warn: Callable[[str], None]) -> ClusterLease | None:
    """The cluster's run Lease for a target whose kubeconfig is known up front; None when there is none.

    Raises ClusterLocked when another live run holds it. A cluster that cannot be reached now is
    not a reason to refuse: the steps that need it will say so.
    """
    from installer.adapters.kube import KubeConfigError, KubeError
    from installer.deploy.cluster import connect_cluster
    from installer.deploy.lease import ClusterLease

    kubeconfig = getattr(answers.target, "kubeconfig", None)
    if not kubeconfig:
        return None
    try:
        cluster = connect_cluster(Path(kubeconfig), getattr(answers.target, "context", None))
    except KubeConfigError:
        return None
    lease = ClusterLease(cluster, answers.name)
    try:
        lease.acquire()
    except KubeError as exc:
        warn(redact.mask(f"warning: the cluster's run lock could not be taken ({exc}); going on without it"))
        return None
    if lease.took_over:
        warn(redact.mask(f"warning: took over the cluster's run lock left by a run that stopped renewing it: "
                         f"{lease.took_over}"))
    return lease
