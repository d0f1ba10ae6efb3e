"""Follow a release's workloads through the Kubernetes API until they are ready, or say why not.

Given an ObjectCache (informers.py), every release reads the same watched copies of the objects
and is re-examined the moment any of them changes: one watch per kind and namespace however many
releases wait. Without one, each round lists what it needs (a list per namespace and kind), which
suits a single check such as verify's. Either way a broken pod is reported at once, not at the
timeout.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Iterable

from installer.adapters.kube import KubeCluster, KubeError
from installer.deploy.informers import ObjectCache
from installer.deploy.model import Breakage, WorkloadState

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
# Waiting reasons that never resolve by themselves: report them at once.
BROKEN_WAITING_REASONS = frozenset({
    "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
})
LOG_TAIL_LINES = 20


class ReleaseNotReady(Exception):
    """The release's workloads are broken or did not become ready before the deadline."""

    def __init__(self, breakage: Breakage, workloads: list[WorkloadState]):
        super().__init__(breakage.describe())
        self.breakage = breakage
        self.workloads = workloads


class WatchCancelled(Exception):
    """The run was cancelled while waiting for readiness."""


@dataclass(frozen=True)
class WorkloadRef:
    kind: str
    name: str
    namespace: str


def workloads_from_manifest(manifest: str, default_namespace: str) -> list[WorkloadRef]:
    """The workloads and claims a rendered release manifest creates."""
    from ruamel.yaml import YAML

    refs: list[WorkloadRef] = []
    for document in YAML(typ="safe").load_all(manifest or ""):
        if not isinstance(document, dict):
            continue
        kind = document.get("kind")
        if kind in WORKLOAD_KINDS or kind == "PersistentVolumeClaim":
            metadata = document.get("metadata") or {}
            refs.append(WorkloadRef(kind, str(metadata.get("name")), metadata.get("namespace") or default_namespace))
    return refs


API_GRACE = 20.0  # seconds without an answer from the API before waiting releases give up


def unreachable(error: BaseException) -> bool:
    """The API gave no answer at all (refused, reset, timed out), as opposed to answering with an error."""
    return isinstance(error, KubeError) and error.status is None


class ReadinessWatcher:
    """Polls workloads, pods and claims of one release; thread-safe, one instance can serve many releases."""

    def __init__(self, cluster: KubeCluster, *, poll_interval: float = 0.5, claim_grace: float = 30.0,
                 api_grace: float = API_GRACE, cache: ObjectCache | None = None):
        self._cluster = cluster
        self._cache = cache
        self.poll_interval = poll_interval
        self.claim_grace = claim_grace
        # How long the API may give no answer before a waiting release fails as "unreachable"
        # instead of polling in silence until its own timeout.
        self.api_grace = api_grace

    # --- API access (raw JSON: tolerant of partially filled objects) -------------------------------
    def _list(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        if self._cache is not None:
            return self._cache.objects(kind, namespace)
        return self._cluster.list(kind, namespace)

    def pod_log_tail(self, pod: str, namespace: str, container: str = "", previous: bool = False) -> list[str]:
        """The last lines a container wrote; empty when the API cannot serve logs."""
        for use_previous in ((True, False) if previous else (False,)):
            try:
                text = self._cluster.pod_log(pod, namespace, container=container, previous=use_previous,
                                             tail_lines=LOG_TAIL_LINES)
            except KubeError:
                continue
            if _is_api_object(text):
                continue  # an API that does not serve logs answered with the pod itself
            lines = [line for line in text.splitlines() if line.strip()]
            if lines:
                return lines[-LOG_TAIL_LINES:]
        return []

    # --- one observation round -----------------------------------------------------------------------
    def observe(self, refs: Iterable[WorkloadRef], started: float | None = None
                ) -> tuple[list[WorkloadState], Breakage | None]:
        """Current state of the given workloads, and the first breakage found, if any."""
        states, breakage, _ = self.observe_with_hint(refs, started)
        return states, breakage

    def observe_with_hint(self, refs: Iterable[WorkloadRef], started: float | None = None
                          ) -> tuple[list[WorkloadState], Breakage | None, Breakage | None]:
        """Like observe, plus what the first pod that is not ready is waiting for (for timeout messages)."""
        refs = list(refs)
        namespaces = sorted({ref.namespace for ref in refs})
        cache: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

        def lookup(kind: str, namespace: str) -> dict[str, dict[str, Any]]:
            if (kind, namespace) not in cache:
                cache[(kind, namespace)] = {_name_of(item): item for item in self._list(kind, namespace)}
            return cache[(kind, namespace)]

        states: list[WorkloadState] = []
        breakage: Breakage | None = None
        selectors: list[tuple[str, dict[str, str], WorkloadRef]] = []
        objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        for ref in refs:
            if ref.kind == "PersistentVolumeClaim":
                continue
            obj = lookup(ref.kind, ref.namespace).get(ref.name)
            state = WorkloadState(ref.kind, ref.name, ref.namespace)
            if obj is None:
                state.desired, state.ready = 1, 0
                states.append(state)
                continue
            spec, status = obj.get("spec") or {}, obj.get("status") or {}
            if ref.kind == "Job":
                state.desired = int(spec.get("completions") or 1)
                state.ready = int(status.get("succeeded") or 0)
                state.done = state.ready >= state.desired
                failed_condition = next((c for c in status.get("conditions") or []
                                         if c.get("type") == "Failed" and c.get("status") == "True"), None)
                if failed_condition and breakage is None:
                    breakage = Breakage("JobFailed", failed_condition.get("message") or failed_condition.get("reason") or
                                        f"job {ref.name} failed")
                labels = ((spec.get("selector") or {}).get("matchLabels")) or {"job-name": ref.name}
            else:
                if ref.kind == "DaemonSet":
                    state.desired = int(status.get("desiredNumberScheduled") or 0)
                    state.ready = int(status.get("numberReady") or 0)
                else:
                    replicas = spec.get("replicas")
                    state.desired = 1 if replicas is None else int(replicas)
                    state.ready = int(status.get("readyReplicas") or 0)
                generation = (obj.get("metadata") or {}).get("generation")
                observed = status.get("observedGeneration")
                # A controller that has not looked at this generation yet has not rolled it out either.
                current = generation is None or (observed is not None and int(observed) >= int(generation))
                updated = status.get("updatedReplicas")
                rolled = updated is None or int(updated) >= state.desired
                state.done = current and rolled and state.ready >= state.desired
                labels = (spec.get("selector") or {}).get("matchLabels") or {}
            if labels:
                selectors.append((ref.kind, dict(labels), ref))
                if obj is not None:
                    objects[(ref.kind, ref.namespace, ref.name)] = obj
            states.append(state)

        hint: Breakage | None = None
        unfinished = any(not state.done for state in states)
        for namespace in namespaces:
            if breakage is not None:
                break
            relevant = [(labels, ref) for _, labels, ref in selectors if ref.namespace == namespace]
            claims = {ref.name for ref in refs if ref.kind == "PersistentVolumeClaim" and ref.namespace == namespace}
            if not relevant and not claims:
                continue
            pods = [pod for pod in lookup("Pod", namespace).values()
                    if any(_matches(pod, labels) and self._current_pod(
                        pod, ref.kind, objects.get((ref.kind, ref.namespace, ref.name)), lookup)
                        for labels, ref in relevant)]
            for pod in sorted(pods, key=lambda p: (p.get("metadata") or {}).get("name") or ""):
                breakage = self._pod_breakage(pod, namespace)
                if breakage:
                    break
                if hint is None and unfinished:
                    hint = _waiting_hint(pod)
            if (breakage is None and unfinished and claims and started is not None
                    and time.monotonic() - started > self.claim_grace):
                for name in sorted(claims):
                    claim = lookup("PersistentVolumeClaim", namespace).get(name)
                    phase = ((claim or {}).get("status") or {}).get("phase")
                    if claim is not None and phase in ("Pending", "Lost"):
                        breakage = Breakage("UnboundClaim", f"PersistentVolumeClaim {namespace}/{name} is {phase}")
                        break
        return states, breakage, hint

    def _current_pod(self, pod: dict[str, Any], kind: str, workload: dict[str, Any] | None,
                     lookup: Callable[[str, str], dict[str, dict[str, Any]]]) -> bool:
        """False for a pod of an older revision that a rollout is replacing (its crash is not this revision's)."""
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if workload is None:
            return True
        if kind in ("StatefulSet", "DaemonSet"):
            revision = (workload.get("status") or {}).get("updateRevision")
            return not (revision and labels.get("controller-revision-hash")) or \
                labels["controller-revision-hash"] == revision
        if kind == "Deployment" and labels.get("pod-template-hash"):
            uid = (workload.get("metadata") or {}).get("uid")
            namespace: Any = (workload.get("metadata") or {}).get("namespace") or \
                (pod.get("metadata") or {}).get("namespace")
            owned = [rs for rs in lookup("ReplicaSet", namespace).values()
                     if any(o.get("uid") == uid for o in (rs.get("metadata") or {}).get("ownerReferences") or [])]
            if not owned:
                return True

            def revision_of(rs: dict[str, Any]) -> int:
                value: Any = ((rs.get("metadata") or {}).get("annotations") or {}).get("deployment.kubernetes.io/revision")
                return int(value) if str(value or "").isdigit() else 0

            newest = max(owned, key=revision_of)
            return bool(labels["pod-template-hash"] == ((newest.get("metadata") or {}).get("labels") or {}).get(
                "pod-template-hash"))
        return True

    def _pod_breakage(self, pod: dict[str, Any], namespace: str) -> Breakage | None:
        name = (pod.get("metadata") or {}).get("name") or "?"
        status = pod.get("status") or {}
        for condition in status.get("conditions") or []:
            message = condition.get("message") or ""
            if condition.get("type") == "PodScheduled" and condition.get("status") == "False" and "unbound" in message.lower():
                return Breakage("UnboundClaim", message, pod=name)
        if status.get("phase") == "Failed" and status.get("reason"):
            return Breakage(status["reason"], status.get("message") or "pod failed", pod=name,
                            log_tail=self.pod_log_tail(name, namespace))
        for init in status.get("initContainerStatuses") or []:
            state = init.get("state") or {}
            last = init.get("lastState") or {}
            terminated = state.get("terminated") or last.get("terminated") or {}
            waiting = state.get("waiting") or {}
            exit_code = terminated.get("exitCode")
            if exit_code not in (None, 0) or waiting.get("reason") in BROKEN_WAITING_REASONS:
                reason = waiting.get("reason") or terminated.get("reason") or "Error"
                detail = (f"init container {init.get('name')} exited with code {exit_code}"
                          if exit_code not in (None, 0) else waiting.get("message") or "")
                if "migrat" in (init.get("name") or "") or "flyway" in (init.get("image") or ""):
                    detail = f"database migration failed: {detail}" if detail else "database migration failed"
                return Breakage(reason, detail, pod=name, container=init.get("name") or "",
                                log_tail=self.pod_log_tail(name, namespace, init.get("name") or "", previous=True))
        for container in status.get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in BROKEN_WAITING_REASONS:
                return Breakage(waiting["reason"], waiting.get("message") or "", pod=name,
                                container=container.get("name") or "",
                                log_tail=self.pod_log_tail(name, namespace, container.get("name") or "", previous=True))
        return None

    # --- the wait loop --------------------------------------------------------------------------------
    def wait(self, refs: Iterable[WorkloadRef], *, timeout: float,
             on_progress: Callable[[int, int, list[WorkloadState]], None] | None = None,
             cancelled: threading.Event | None = None) -> list[WorkloadState]:
        """Block until every workload is ready; raise ReleaseNotReady on breakage or timeout."""
        refs = list(refs)
        started = time.monotonic()
        deadline = started + timeout
        last_report: tuple[int, int] | None = None
        states: list[WorkloadState] = []
        hint: Breakage | None = None
        last_error = ""
        silent_since: float | None = None
        while True:
            if cancelled is not None and cancelled.is_set():
                raise WatchCancelled()
            seen = self._cache.generation if self._cache is not None else 0
            try:
                states, breakage, hint = self.observe_with_hint(refs, started)
                last_error, silent_since = "", None
            except Exception as error:  # the API is down or slow: keep trying for a short grace
                breakage, last_error = None, f"{type(error).__name__}: {error}"
                if unreachable(error):
                    silent_since = silent_since or time.monotonic()
                    if time.monotonic() - silent_since >= self.api_grace:
                        server = getattr(self._cluster, "server", "") or "the API server"
                        raise ReleaseNotReady(Breakage(
                            "ApiUnreachable",
                            f"Kubernetes API unreachable at {server} for {self.api_grace:.0f}s: {error}"), states) from error
            if breakage is not None:
                raise ReleaseNotReady(breakage, states)
            workloads = list(states)
            ready = sum(min(s.ready, s.desired) for s in workloads)
            desired = sum(s.desired for s in workloads)
            if on_progress is not None and (ready, desired) != last_report and not last_error:
                on_progress(ready, desired, workloads)
                last_report = (ready, desired)
            if not last_error and all(s.done for s in workloads):
                return states
            now = time.monotonic()
            if now >= deadline:
                waiting = [f"{s.kind}/{s.name} {s.ready}/{s.desired}" for s in workloads if not s.done]
                message = f"not ready after {timeout:.0f}s: " + (", ".join(waiting) or last_error or "unknown")
                if hint is not None:
                    message += f"; pod {hint.pod} is waiting: {hint.reason}" + (f" ({hint.message})" if hint.message else "")
                    log_tail = self.pod_log_tail(hint.pod, next(iter(refs)).namespace, hint.container)
                    raise ReleaseNotReady(Breakage("Timeout", message, pod=hint.pod, container=hint.container,
                                                   log_tail=log_tail), states)
                raise ReleaseNotReady(Breakage("Timeout", message), states)
            self._pause(min(self.poll_interval, deadline - now), seen, cancelled)

    def _pause(self, seconds: float, seen: int, cancelled: threading.Event | None) -> None:
        """Until the next look: with the shared cache, until anything watched changes (at most `seconds`)."""
        if self._cache is None:
            if cancelled is not None:
                if cancelled.wait(seconds):
                    raise WatchCancelled()
            else:
                time.sleep(seconds)
            return
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            if self._cache.wait_for_change(seen, min(left, 0.25)) != seen:
                return
            if cancelled is not None and cancelled.is_set():
                raise WatchCancelled()


def _waiting_hint(pod: dict[str, Any]) -> Breakage | None:
    """What a pod that is not ready is waiting for, from its container states or scheduling condition."""
    name = (pod.get("metadata") or {}).get("name") or "?"
    status = pod.get("status") or {}
    for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return Breakage(waiting["reason"], waiting.get("message") or "", pod=name,
                            container=container.get("name") or "")
    for condition in status.get("conditions") or []:
        if condition.get("status") == "False" and condition.get("reason"):
            return Breakage(condition["reason"], condition.get("message") or "", pod=name)
    if status.get("phase") and status.get("phase") != "Running":
        return Breakage(status["phase"], status.get("message") or "", pod=name)
    return None


def _matches(pod: dict[str, Any], selector: dict[str, str]) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def _is_api_object(text: str) -> bool:
    stripped = text.strip()
    if not stripped.startswith("{"):
        return False
    try:
        document = json.loads(stripped)
    except ValueError:
        return False
    return isinstance(document, dict) and "apiVersion" in document and "kind" in document


def _name_of(item: dict[str, Any]) -> str:
    """An object's name as listed (a listed object always has one)."""
    name: str = (item.get("metadata") or {}).get("name") or ""
    return name
