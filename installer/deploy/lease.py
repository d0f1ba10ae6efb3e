"""One run per cluster: a Kubernetes Lease naming the run that holds it, renewed while it runs.

The state directory's lock keeps two runs of one install on one jump host apart; two jump hosts
(two state directories) on one cluster need a lock the cluster holds. The Lease is created
atomically (a second create is a 409), names its holder (install, pid, host), is renewed every
RENEW_EVERY seconds and released at the end. A Lease whose holder stopped renewing for
DURATION seconds was left by a run that died: it is taken over (with the resourceVersion as a
precondition, so two takers cannot both win on a real API server).
"""
from __future__ import annotations

import os
import socket
import threading
from datetime import datetime, UTC
from typing import Any

from installer.adapters.kube import KubeCluster, KubeError

LEASE_NAMESPACE = "digit-installer"
LEASE_NAME = "digit-installer-run"
DURATION = 60
RENEW_EVERY = 15
MANAGED_BY = {"app.kubernetes.io/managed-by": "digit-installer"}


class ClusterLocked(Exception):
    """Another live run holds the cluster's Lease."""

    def __init__(self, holder: str, renewed_ago: float | None) -> None:
        self.holder = holder
        ago = f", renewed {renewed_ago:.0f}s ago" if renewed_ago is not None else ""
        super().__init__(f"the cluster is locked by another run: {holder}{ago} (Lease {LEASE_NAMESPACE}/{LEASE_NAME}); "
                         f"wait for it to finish, or, if that run is gone, retry after {DURATION}s")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _age(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        when = datetime.strptime(stamp.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        try:
            when = datetime.strptime(stamp.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None
    return (datetime.now(UTC) - when).total_seconds()


class ClusterLease:
    def __init__(self, cluster: KubeCluster, install: str, *, duration: int = DURATION,
                 renew_every: float = RENEW_EVERY, labels: dict[str, str] | None = None) -> None:
        self.cluster = cluster
        self.identity = f"install {install}, pid {os.getpid()} on {socket.gethostname()}"
        self.duration = duration
        self.renew_every = renew_every
        self.labels = {**MANAGED_BY, **(labels or {})}
        self.took_over: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _spec(self, acquired: str | None = None) -> dict[str, Any]:
        now = _now()
        return {"holderIdentity": self.identity, "leaseDurationSeconds": self.duration,
                "acquireTime": acquired or now, "renewTime": now}

    def acquire(self) -> ClusterLease:
        """Take the Lease or raise ClusterLocked naming its holder; KubeError when the API fails."""
        self.cluster.create({"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": LEASE_NAMESPACE, "labels": dict(self.labels)}})
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": LEASE_NAME, "namespace": LEASE_NAMESPACE, "labels": dict(MANAGED_BY)},
                "spec": self._spec()}
        if not self.cluster.create(body):
            current = self.cluster.get("Lease", LEASE_NAME, LEASE_NAMESPACE) or {}
            spec = current.get("spec") or {}
            holder = spec.get("holderIdentity")
            age = _age(spec.get("renewTime"))
            limit = spec.get("leaseDurationSeconds") or self.duration
            if holder and holder != self.identity and (age is None or age < limit) \
                    and not self._left_by_a_dead_run_of_ours(holder):
                raise ClusterLocked(holder, age)
            patch: dict[str, Any] = {"spec": self._spec()}
            version = (current.get("metadata") or {}).get("resourceVersion")
            if version:
                patch["metadata"] = {"resourceVersion": version}
            self.cluster.patch("Lease", LEASE_NAME, patch, LEASE_NAMESPACE)
            self.took_over = holder or None
        self._thread = threading.Thread(target=self._renew, name="cluster-lease", daemon=True)
        self._thread.start()
        return self

    def _left_by_a_dead_run_of_ours(self, holder: str) -> bool:
        """A Lease this install took on this host, from a process that no longer exists.

        A holder naming this install and this host whose process is gone was killed (kill -9, a
        crash): waiting out DURATION before `--resume` would only make the operator wait. A live
        process is never second-guessed, nor another install or another host: their Lease expires
        on its own.
        """
        ours = self.identity.rsplit(" on ", 1)
        theirs = holder.rsplit(" on ", 1)
        if len(ours) != 2 or len(theirs) != 2 or ours[1] != theirs[1]:
            return False
        install_ours, _, _ = ours[0].rpartition(", pid ")
        install_theirs, _, pid_text = theirs[0].rpartition(", pid ")
        if install_ours != install_theirs or not pid_text.isdigit():
            return False
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, someone else's
        return False

    def _renew(self) -> None:
        while not self._stop.wait(self.renew_every):
            try:
                self.cluster.patch("Lease", LEASE_NAME, {"spec": {"renewTime": _now()}}, LEASE_NAMESPACE)
            except KubeError:
                pass  # the API may be away for a moment; the next renewal tries again

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
            try:
                self.cluster.patch("Lease", LEASE_NAME, {"spec": {"holderIdentity": None, "renewTime": None}},
                                   LEASE_NAMESPACE)
            except KubeError:
                pass  # it expires on its own after DURATION seconds

    def __enter__(self) -> ClusterLease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
