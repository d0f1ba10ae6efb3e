"""Rollout simulator: plays the controllers the emulator lacks, so readiness watches have something real to follow.

Controlled by RIGDIR/rollout.json, re-read whenever it changes:
    {"delay": 1.5, "never_ready": ["egov-user"], "reason": "CrashLoopBackOff", "delays": {"elasticsearch": 9}}
`never_ready` may also map release names to their own waiting reason; `delays` gives releases their
own rollout time (seconds from a workload generation's first sighting until it is ready). A workload belongs to the
release named by its `app.kubernetes.io/instance` label (or Helm's release-name annotation).
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from kmock._internal import references

DEPLOYMENTS = references.resource("apps", "v1", "deployments")
STATEFULSETS = references.resource("apps", "v1", "statefulsets")
DAEMONSETS = references.resource("apps", "v1", "daemonsets")
JOBS = references.resource("batch", "v1", "jobs")
PODS = references.resource("", "v1", "pods")
WORKLOADS = {DEPLOYMENTS: "Deployment", STATEFULSETS: "StatefulSet", DAEMONSETS: "DaemonSet", JOBS: "Job"}

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def release_of(obj: dict[str, Any]) -> str | None:
    meta = obj.get("metadata", {})
    labels = meta.get("labels") or {}
    template_labels = obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {}
    return (
        labels.get("app.kubernetes.io/instance")
        or (meta.get("annotations") or {}).get("meta.helm.sh/release-name")
        or template_labels.get("app.kubernetes.io/instance")
    )


class RolloutSimulator:
    def __init__(self, emulator: Any, control_path: Path, interval: float = 0.2) -> None:
        self.emulator = emulator
        self.control_path = control_path
        self.interval = interval
        self._control: dict[str, Any] = {"delay": 0.0, "never_ready": [], "reason": "CrashLoopBackOff"}
        self._control_stamp: float | None = None
        self._first_seen: dict[tuple[str, int], float] = {}

    def control(self) -> dict[str, Any]:
        try:
            stamp = self.control_path.stat().st_mtime_ns
            if stamp != self._control_stamp:
                self._control = {**self._control, **json.loads(self.control_path.read_text())}
                self._control_stamp = stamp
        except (OSError, ValueError):
            pass
        return self._control

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:  # keep simulating; a bad object must not stop every rollout
                log.exception("rollout step failed")
            await asyncio.sleep(self.interval)

    def _waiting_reason(self, release: str | None, control: dict[str, Any]) -> str | None:
        never = control.get("never_ready") or []
        if release is None or release not in never:
            return None
        if isinstance(never, dict):
            return never[release] or control.get("reason") or "CrashLoopBackOff"
        return control.get("reason") or "CrashLoopBackOff"

    async def step(self) -> None:
        control = self.control()
        delay = float(control.get("delay") or 0)
        now = time.monotonic()
        owners: dict[tuple[str | None, str], dict[str, Any]] = {}
        for (resource, namespace, _name), stored in list(self.emulator.objects.items()):
            if resource not in WORKLOADS or stored.deleted:
                continue
            obj = copy.deepcopy(stored.raw)
            meta = obj.get("metadata", {})
            generation = int(meta.get("generation", 1))
            key = (meta.get("uid", ""), generation)
            self._first_seen.setdefault(key, now)
            release = release_of(obj)
            reason = self._waiting_reason(release, control)
            own = (control.get("delays") or {}).get(release) if release else None
            ready = reason is None and now - self._first_seen[key] >= (delay if own is None else float(own))
            pods = self._desired_pods(resource, obj, ready, reason or "ContainerCreating")
            for pod in pods:
                owners[(namespace, pod["metadata"]["name"])] = pod
            status = self._status(resource, obj, ready, reason)
            if any(obj.get("status", {}).get(k) != v for k, v in status.items()):
                await self.emulator.store(resource, namespace, {**obj, "status": {**obj.get("status", {}), **status}},
                                          subresource=True)
        await self._sync_pods(owners)

    def _status(self, resource: Any, obj: dict[str, Any], ready: bool, reason: str | None) -> dict[str, Any]:
        spec = obj.get("spec", {})
        generation = obj.get("metadata", {}).get("generation", 1)
        if resource == JOBS:
            completions = int(spec.get("completions") or 1)
            if ready:
                return {"succeeded": completions, "active": 0, "completionTime": _now(),
                        "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": _now()}]}
            return {"active": 1, "succeeded": 0}
        if resource == DAEMONSETS:
            count = 1
            return {"observedGeneration": generation, "desiredNumberScheduled": count, "currentNumberScheduled": count,
                    "numberReady": count if ready else 0, "updatedNumberScheduled": count,
                    "numberAvailable": count if ready else 0}
        replicas = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        ready_count = replicas if ready else 0
        status: dict[str, Any] = {"observedGeneration": generation, "replicas": replicas,
                                  "updatedReplicas": replicas, "readyReplicas": ready_count,
                                  "availableReplicas": ready_count}
        if resource == STATEFULSETS:
            status["currentReplicas"] = replicas
            status.pop("availableReplicas")
            status["availableReplicas"] = ready_count
        if resource == DEPLOYMENTS:
            status["unavailableReplicas"] = replicas - ready_count
            status["conditions"] = [{"type": "Available", "status": "True" if ready else "False",
                                     "reason": "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable"}]
        return status

    def _desired_pods(self, resource: Any, obj: dict[str, Any], ready: bool, reason: str) -> list[dict[str, Any]]:
        meta = obj["metadata"]
        spec = obj.get("spec", {})
        template = spec.get("template", {})
        generation = meta.get("generation", 1)
        suffix = hashlib.sha1(f"{meta.get('uid')}/{generation}".encode()).hexdigest()[:10]
        if resource in (JOBS, DAEMONSETS):
            count, names = 1, [f"{meta['name']}-{suffix[:5]}"]
        else:
            count = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
            if resource == STATEFULSETS:
                names = [f"{meta['name']}-{i}" for i in range(count)]
            else:
                names = [f"{meta['name']}-{suffix}-{hashlib.sha1(f'{suffix}{i}'.encode()).hexdigest()[:5]}"
                         for i in range(count)]
        containers = template.get("spec", {}).get("containers") or [{"name": "main", "image": "unknown"}]
        job_done = resource == JOBS and ready
        pods = []
        for pod_name in names:
            if job_done:
                state: dict[str, Any] = {"terminated": {"exitCode": 0, "reason": "Completed"}}
                phase = "Succeeded"
            elif ready:
                state, phase = {"running": {"startedAt": _now()}}, "Running"
            else:
                state = {"waiting": {"reason": reason, "message": f"simulated by the rig: {reason}"}}
                phase = "Running" if reason != "ContainerCreating" else "Pending"
            restarts = 3 if reason in ("CrashLoopBackOff", "Error") and not ready else 0
            main = containers[0].get("name", "main")
            log = (f"{main}: starting\n{main}: simulated by the rig: {reason}\n" if not ready and restarts
                   else f"{main}: started\n")
            pods.append({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "name": pod_name, "namespace": meta.get("namespace"),
                    "annotations": {"rig.digit.test/log": log},
                    "labels": dict(template.get("metadata", {}).get("labels") or {}),
                    "ownerReferences": [{"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""),
                                         "name": meta["name"], "uid": meta.get("uid"), "controller": True}],
                },
                "spec": copy.deepcopy(template.get("spec", {})),
                "status": {
                    "phase": phase,
                    "conditions": [{"type": "Ready", "status": "True" if ready and not job_done else "False"}],
                    "containerStatuses": [
                        {"name": c.get("name", "main"), "image": c.get("image", ""), "ready": ready and not job_done,
                         "imageID": f"rig://{c.get('image', '')}", "containerID": f"rig://{pod_name}/{c.get('name')}",
                         "restartCount": restarts, "started": ready, "state": state}
                        for c in containers
                    ],
                },
            })
        return pods

    async def _sync_pods(self, desired: dict[tuple[str | None, str], dict[str, Any]]) -> None:
        for (resource, namespace, name), stored in list(self.emulator.objects.items()):
            if resource != PODS or stored.deleted:
                continue
            raw = stored.raw
            if not raw.get("metadata", {}).get("ownerReferences"):
                continue
            wanted = desired.pop((namespace, name), None)
            if wanted is None:
                await self.emulator.remove(resource, namespace, name)
            elif (wanted["status"] != raw.get("status") or wanted["metadata"]["labels"] != raw["metadata"].get("labels")
                  or wanted["metadata"]["annotations"] != raw["metadata"].get("annotations")):
                await self.emulator.store(resource, namespace, {**raw, **wanted,
                                                                "metadata": {**raw["metadata"], **wanted["metadata"]}})
        for (namespace, _name), pod in desired.items():
            await self.emulator.store(PODS, namespace, pod)
