"""Run releases in dependency order at the speed of the graph's critical path, rollback on failure.

A release starts as soon as everything it `needs` is ready (so the plan's waves are respected, and a
slow release in one wave does not hold back unrelated releases of the next). What is bounded is the
number of Helm calls in flight (`concurrency`: the API server's load and the Helm workers), not the
number of releases: a release holds a slot only while Helm works for it, never while its workloads
roll out, so every submitted release waits for readiness at once (through the watcher's shared
watches). When a release fails, every release that needs it, directly or not, is skipped;
independent releases carry on.
"""
from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol
from collections.abc import Callable, Iterator

from installer import redact
from installer.deploy import digests
from installer.deploy.model import (CANCELLED, DEPLOYED, FAILED, SKIPPED, UNCHANGED, Breakage, DeployReport,
                                    ReleaseResult, ReleaseSpec, WorkloadState)
from installer.deploy.readiness import ReleaseNotReady, WatchCancelled, workloads_from_manifest


@dataclass
class InstalledRelease:
    """What Helm's storage says about a release's latest revision."""

    revision: int
    status: str
    labels: dict[str, str] = field(default_factory=dict)
    last_deployed_revision: int | None = None


class HelmOperations(Protocol):
    """The Helm actions the executor needs; implemented over installer.adapters.helm."""

    def current(self, name: str, namespace: str) -> InstalledRelease | None: ...

    def apply(self, spec: ReleaseSpec, labels: dict[str, str], install: bool) -> tuple[int, str]:
        """Install or upgrade; returns (revision, rendered manifest)."""

    def manifest(self, name: str, namespace: str) -> str:
        """The rendered manifest of the release's current revision."""

    def render(self, spec: ReleaseSpec) -> str:
        """The manifest the spec would install, rendered offline."""

    def rollback(self, name: str, namespace: str, revision: int) -> None: ...

    def uninstall(self, name: str, namespace: str) -> None: ...


class Watcher(Protocol):
    def wait(self, refs: Any, *, timeout: float, on_progress: Any = None,
             cancelled: threading.Event | None = None) -> list[WorkloadState]: ...


@dataclass(frozen=True)
class ReleaseEvent:
    """Something happened to one release; `kind` is one of the names below."""

    release: str
    kind: str  # started | unchanged | progress | ready | failed | rolled-back | uninstalled | skipped | cancelled
    message: str = ""
    ready: int = 0
    desired: int = 0


class _HelmSlots:
    """At most `size` Helm calls at once; a free slot goes to the waiting call of highest priority.

    When a wave's releases all become startable together (DIGIT's 22 core releases once the backbone
    is ready), the order of their Helm calls decides when the long chains (mdms -> enc -> user -> hrms)
    start rolling out; first come, first served could put the head of the longest chain last.
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: list[tuple[int, int]] = []  # heap of (-priority, arrival)
        self._arrivals = itertools.count()
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def hold(self, priority: int) -> Iterator[None]:
        ticket = (-priority, next(self._arrivals))
        with self._changed:
            heapq.heappush(self._waiting, ticket)
            while self._free == 0 or self._waiting[0] != ticket:
                self._changed.wait()
            heapq.heappop(self._waiting)
            self._free -= 1
            self._changed.notify_all()  # the next in line may take another free slot
        try:
            yield
        finally:
            with self._changed:
                self._free += 1
                self._changed.notify_all()


class _BoundedHelm:
    """HelmOperations whose every call holds one of the executor's Helm slots, at its release's priority."""

    def __init__(self, helm: HelmOperations, slots: _HelmSlots, priority: Callable[[], int]) -> None:
        self._helm = helm
        self._slots = slots
        self._priority = priority

    def __getattr__(self, name: str) -> Any:
        action = getattr(self._helm, name)
        if not callable(action):
            return action

        def bounded(*args: Any, **kwargs: Any) -> Any:
            with self._slots.hold(self._priority()):
                return action(*args, **kwargs)

        return bounded


def chain_lengths(specs: list[ReleaseSpec]) -> dict[str, int]:
    """For each release, how many releases the longest chain of its dependents holds, itself included."""
    dependents: dict[str, list[str]] = {}
    for spec in specs:
        for need in spec.needs:
            dependents.setdefault(need, []).append(spec.name)
    lengths: dict[str, int] = {}

    def length(name: str) -> int:
        if name not in lengths:
            lengths[name] = 1 + max((length(child) for child in dependents.get(name, ())), default=0)
        return lengths[name]

    for spec in specs:
        length(spec.name)
    return lengths


MAX_RELEASE_THREADS = 256


class PlanError(ValueError):
    """The release list is not a valid graph (unknown need or cycle)."""


def check_graph(specs: list[ReleaseSpec]) -> None:
    names = {spec.name for spec in specs}
    if len(names) != len(specs):
        duplicates = sorted({s.name for s in specs if sum(t.name == s.name for t in specs) > 1})
        raise PlanError(f"release listed twice: {', '.join(duplicates)}")
    for spec in specs:
        unknown = [need for need in spec.needs if need not in names]
        if unknown:
            raise PlanError(f"release {spec.name} needs {', '.join(unknown)}, which is not in the plan")
    needs = {spec.name: set(spec.needs) for spec in specs}
    done: set[str] = set()
    while needs:
        free = [name for name, wanted in needs.items() if wanted <= done]
        if not free:
            raise PlanError(f"dependency cycle among: {', '.join(sorted(needs))}")
        for name in free:
            done.add(name)
            del needs[name]


def dependents_of(specs: list[ReleaseSpec], failed: str) -> set[str]:
    """Every release that needs `failed`, directly or through others."""
    reverse: dict[str, set[str]] = {}
    for spec in specs:
        for need in spec.needs:
            reverse.setdefault(need, set()).add(spec.name)
    found: set[str] = set()
    queue = [failed]
    while queue:
        for child in reverse.get(queue.pop(), ()):
            if child not in found:
                found.add(child)
                queue.append(child)
    return found


class Executor:
    def __init__(self, helm: HelmOperations, watcher: Watcher, *, installer_version: str,
                 concurrency: int = 4, uninstall_failed_install: bool = True,
                 on_event: Callable[[ReleaseEvent], None] | None = None,
                 cancelled: threading.Event | None = None, install: str = "", take_over: str | None = None):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._current = threading.local()  # the priority of the release this thread works for
        self._priorities: dict[str, int] = {}
        self.helm: HelmOperations = _BoundedHelm(
            helm, _HelmSlots(concurrency), lambda: getattr(self._current, "priority", 0))
        self.watcher = watcher
        self.installer_version = installer_version
        # The answers `name`: releases labelled by another install are refused, never upgraded,
        # unless the operator named that install in target.take_over_install.
        self.install = install
        self.take_over = take_over
        self.concurrency = concurrency
        self.uninstall_failed_install = uninstall_failed_install
        self._on_event = on_event
        self.cancelled = cancelled or threading.Event()
        self._release_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._emit_guard = threading.Lock()

    def _emit(self, event: ReleaseEvent) -> None:
        if self._on_event is not None:
            with self._emit_guard:
                self._on_event(ReleaseEvent(event.release, event.kind, redact.mask(event.message),
                                            event.ready, event.desired))

    def _lock_for(self, spec: ReleaseSpec) -> threading.Lock:
        with self._locks_guard:
            return self._release_locks.setdefault(spec.key, threading.Lock())

    # --- the schedule -----------------------------------------------------------------------------
    def run(self, specs: list[ReleaseSpec]) -> DeployReport:
        check_graph(specs)
        self._priorities = chain_lengths(specs)
        started = time.monotonic()
        report = DeployReport()
        by_name = {spec.name: spec for spec in specs}
        pending = sorted(specs, key=lambda s: (s.wave, s.name))
        ready: set[str] = set()
        running: dict[Future[ReleaseResult], ReleaseSpec] = {}
        # A thread per release that may run at once: they mostly wait (for a Helm slot or for readiness).
        with ThreadPoolExecutor(max_workers=max(1, min(len(specs), MAX_RELEASE_THREADS)),
                                thread_name_prefix="release") as pool:
            while pending or running:
                if self.cancelled.is_set():
                    for spec in pending:
                        report.results[spec.name] = ReleaseResult(spec.name, spec.namespace, CANCELLED)
                        self._emit(ReleaseEvent(spec.name, "cancelled", "not started: the run was cancelled"))
                    pending = []
                startable = [s for s in pending if all(n in ready for n in s.needs)]
                for spec in startable:
                    pending.remove(spec)
                    running[pool.submit(self._deploy_one, spec)] = spec
                if not running:
                    # Nothing can start and nothing runs: what is left waits on failed releases.
                    for spec in pending:
                        blocked = [n for n in spec.needs if n not in ready]
                        report.results[spec.name] = ReleaseResult(spec.name, spec.namespace, SKIPPED,
                                                                  skipped_because=blocked)
                        self._emit(ReleaseEvent(spec.name, "skipped", f"skipped: needs {', '.join(blocked)}"))
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    spec = running.pop(future)
                    result = future.result()
                    report.results[spec.name] = result
                    if result.outcome in (DEPLOYED, UNCHANGED):
                        ready.add(spec.name)
                    elif result.outcome == FAILED:
                        doomed = dependents_of(specs, spec.name)
                        for name in sorted(doomed):
                            other = by_name[name]
                            if other in pending:
                                pending.remove(other)
                                report.results[name] = ReleaseResult(name, other.namespace, SKIPPED,
                                                                     skipped_because=[spec.name])
                                self._emit(ReleaseEvent(name, "skipped", f"skipped: {spec.name} failed"))
        report.seconds = time.monotonic() - started
        return report

    # --- one release ------------------------------------------------------------------------------
    def _deploy_one(self, spec: ReleaseSpec) -> ReleaseResult:
        self._current.priority = self._priorities.get(spec.name, 0)
        with self._lock_for(spec):
            try:
                return self._deploy_locked(spec)
            except Exception as error:  # an unexpected failure of one release must not sink the run
                message = redact.mask(f"{type(error).__name__}: {error}")
                self._emit(ReleaseEvent(spec.name, "failed", message))
                return ReleaseResult(spec.name, spec.namespace, FAILED, error=message, reason=type(error).__name__)

    def _deploy_locked(self, spec: ReleaseSpec) -> ReleaseResult:
        result = ReleaseResult(spec.name, spec.namespace, FAILED, started_at=time.time())
        began = time.monotonic()
        chart_digest = spec.chart_digest or digests.chart_digest(spec.chart)
        values_digest = spec.values_digest or digests.values_digest(spec.values)
        current = self.helm.current(spec.name, spec.namespace)
        owner = digests.foreign_owner(current.labels if current else None, self.install, self.take_over)
        if owner:
            result.error = (f"release {spec.namespace}/{spec.name} belongs to install '{owner}', not '{self.install}'; "
                            f"refusing to change it (to take it over, set target.take_over_install: {owner})")
            result.reason = "OwnedByAnotherInstall"
            self._emit(ReleaseEvent(spec.name, "failed", result.error))
            return result
        if current is not None and current.status == "deployed" and (
                digests.is_unchanged(current.labels, chart_digest, values_digest)
                or self._renders_the_same(spec, current, chart_digest)):
            # Nothing to upgrade; still make sure it is ready (a first install that never became
            # ready stays 'deployed' in Helm's records, and a fix may have come from outside).
            result.action, result.revision = "none", current.revision
            try:
                refs = workloads_from_manifest(self.helm.manifest(spec.name, spec.namespace), spec.namespace)
                self.watcher.wait(refs, timeout=spec.timeout, on_progress=self._progress(spec),
                                  cancelled=self.cancelled)
            except WatchCancelled:
                result.outcome, result.error = CANCELLED, "the run was cancelled while waiting for readiness"
                self._emit(ReleaseEvent(spec.name, "cancelled", result.error))
                return result
            except ReleaseNotReady as error:
                result.error, result.reason = redact.mask(error.breakage.describe()), error.breakage.reason
                result.seconds = time.monotonic() - began
                self._emit(ReleaseEvent(spec.name, "failed", f"unchanged at revision {current.revision} but not "
                                                             f"ready: {result.error}"))
                return result
            result.outcome, result.ready_at = UNCHANGED, time.time()
            result.seconds = time.monotonic() - began
            self._emit(ReleaseEvent(spec.name, "unchanged", f"at revision {current.revision}"))
            return result

        previous = current.last_deployed_revision if current is not None else None
        if current is not None and previous is None:
            # Only failed or interrupted attempts exist: start clean rather than upgrade nothing.
            self.helm.uninstall(spec.name, spec.namespace)
            current = None
        elif current is not None and current.status.startswith("pending-") and previous is not None:
            # An earlier process died mid-operation; Helm refuses to act until the release is settled.
            self.helm.rollback(spec.name, spec.namespace, previous)
        install = current is None
        result.action = "install" if install else "upgrade"
        self._emit(ReleaseEvent(spec.name, "started", f"{result.action} ({spec.namespace})"))
        labels = digests.release_labels(self.installer_version, chart_digest, values_digest, self.install)
        failure: Breakage
        try:
            revision, manifest = self.helm.apply(spec, labels, install)
            result.revision = revision
            refs = workloads_from_manifest(manifest, spec.namespace)
            remaining = max(1.0, spec.timeout - (time.monotonic() - began))
            self.watcher.wait(refs, timeout=remaining, on_progress=self._progress(spec), cancelled=self.cancelled)
            result.outcome = DEPLOYED
            result.ready_at = time.time()
            result.seconds = time.monotonic() - began
            self._emit(ReleaseEvent(spec.name, "ready", f"ready at revision {revision} in {result.seconds:.1f}s"))
            return result
        except WatchCancelled:
            failure = Breakage("Cancelled", "the run was cancelled while waiting for readiness")
            result.outcome = CANCELLED
        except ReleaseNotReady as error:
            failure = error.breakage
        except Exception as error:
            failure = Breakage(type(error).__name__, str(error))
        result.error = redact.mask(failure.describe())
        result.reason = failure.reason
        result.seconds = time.monotonic() - began
        self._emit(ReleaseEvent(spec.name, "failed" if result.outcome == FAILED else "cancelled", result.error))
        if result.outcome == CANCELLED or result.reason == "ApiUnreachable":
            # Leave it for --resume: rolling back needs the API (it would only wait for it) or slow the exit.
            return result
        self._undo(spec, result, previous, install)
        return result

    def preview(self, spec: ReleaseSpec) -> str:
        """What a run would do to this release: install, upgrade or unchanged (read-only)."""
        chart_digest = spec.chart_digest or digests.chart_digest(spec.chart)
        values_digest = spec.values_digest or digests.values_digest(spec.values)
        current = self.helm.current(spec.name, spec.namespace)
        if current is not None and (owner := digests.foreign_owner(current.labels, self.install, self.take_over)):
            return f"refuse: belongs to install '{owner}'"
        if current is None or current.last_deployed_revision is None:
            return "install"
        if current.status == "deployed" and (digests.is_unchanged(current.labels, chart_digest, values_digest)
                                             or self._renders_the_same(spec, current, chart_digest)):
            return "unchanged"
        return "upgrade"

    def _renders_the_same(self, spec: ReleaseSpec, current: InstalledRelease, chart_digest: str) -> bool:
        """Same chart, other values, yet the same objects: the change does not reach this release.

        DIGIT hands every chart the whole environment file, so most value changes touch only a few
        releases' objects; upgrading the others would only add Helm revisions.
        """
        if current.labels.get(digests.LABEL_CHART_DIGEST) != digests.label_value(chart_digest):
            return False
        try:
            rendered = self.helm.render(spec)
            deployed = self.helm.manifest(spec.name, spec.namespace)
        except Exception:  # cannot tell: upgrading is the safe answer
            return False
        return bool(deployed) and digests.manifest_fingerprint(rendered) == digests.manifest_fingerprint(deployed)

    def _progress(self, spec: ReleaseSpec) -> Callable[[int, int, list[WorkloadState]], None]:
        def progress(ready: int, desired: int, states: list[WorkloadState]) -> None:
            waiting = [f"{s.kind.lower()}/{s.name}" for s in states if not s.done]
            message = f"waiting for {', '.join(waiting[:3])}" if waiting else "all ready"
            self._emit(ReleaseEvent(spec.name, "progress", message, ready, desired))

        return progress

    def _undo(self, spec: ReleaseSpec, result: ReleaseResult, previous: int | None, install: bool) -> None:
        try:
            if previous is not None:
                self.helm.rollback(spec.name, spec.namespace, previous)
                result.rolled_back_to = previous
                self._emit(ReleaseEvent(spec.name, "rolled-back", f"rolled back to revision {previous}"))
            elif install and self.uninstall_failed_install:
                self.helm.uninstall(spec.name, spec.namespace)
                result.uninstalled = True
                self._emit(ReleaseEvent(spec.name, "uninstalled", "failed first install uninstalled"))
        except Exception as error:
            note = redact.mask(f"; undoing it failed too: {type(error).__name__}: {error}")
            result.error += note
            self._emit(ReleaseEvent(spec.name, "failed", f"undo failed: {note}"))
