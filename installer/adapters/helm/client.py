"""HelmSdkEngine: the HelmEngine contract over Helm's real engine, run in a child process.

Release storage: "secret" on real clusters (Helm's default, which the test rig's emulator
serves too), "memory" (forgotten when the engine closes) or "sql" with a PostgreSQL DSN
(releases survive the process and are seen by any other engine using the same DSN). Helm's
memory driver keeps one store per namespace, so with it `list()` must be given the namespace.

Parallel calls: one child process runs one Helm action at a time, so an engine keeps up to
`workers` children and gives each call a free one (started on demand); calls beyond that wait.
That bounds the Helm actions in flight, i.e. the API server's load. The memory driver keeps
releases inside one child, so with it `workers` is 1. `openapi=False` says the API server
publishes no OpenAPI document (the test rig's emulator; no real cluster): install/upgrade/rollback
then pass the native options `disable_openapi_validation: true`, `server_side_apply: false` (the
server computes applies from the same schemas) and `disable_hooks: true` (Helm validates hook
manifests against OpenAPI regardless; a cluster without it is not one to run hook Jobs on).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from installer.adapters.helm.digests import tree_digest
from installer.adapters.helm.interface import (
    ChartInfo,
    HelmEngineError,
    KubeAccess,
    LintMessage,
    LintReport,
    ReleaseInfo,
    ReleaseNotFound,
    ReleaseStorage,
)
from installer.adapters.helm.staging import ChartStager
from installer.adapters.helm.worker import CANCEL_GRACE, Worker

WORK_DIR_PREFIX = "digit-helm-"
OWNER_FILE = "owner.pid"


def _new_work_dir() -> Path:
    """A private staging folder naming the process that owns it, so a later run can tell it is stale."""
    path = Path(tempfile.mkdtemp(prefix=WORK_DIR_PREFIX))
    (path / OWNER_FILE).write_text(f"{os.getpid()}\n")
    return path


def remove_stale_work_dirs(root: Path | None = None, older_than: float = 3600.0) -> list[Path]:
    """Staging folders of ours left by runs that were killed (kill -9 leaves no chance to clean up).

    A folder is stale when the process it names is gone, or, without an owner file, when it has
    not changed for `older_than` seconds. Only folders the caller owns are touched.
    """
    import time

    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(WORK_DIR_PREFIX + "*"):
        try:
            st = path.lstat()
            if not path.is_dir() or path.is_symlink() or st.st_uid != os.geteuid():
                continue
            owner = path / OWNER_FILE
            if owner.is_file():
                pid = int(owner.read_text().strip() or 0)
                if pid == os.getpid() or _alive(pid):
                    continue
            elif time.time() - st.st_mtime < older_than:
                continue
        except (OSError, ValueError):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


DEFAULT_CALL_TIMEOUT = 120.0
# Slack beyond Helm's own timeout before the worker is presumed hung.
DEADLINE_SLACK = 30.0


class HelmSdkEngine:
    """HelmEngine over helm-python-sdk, in up to `workers` child processes per engine."""

    def __init__(self, kube: KubeAccess | None = None, storage: ReleaseStorage | None = None, *,
                 openapi: bool = True, call_timeout: float = DEFAULT_CALL_TIMEOUT,
                 cancel_grace: float = CANCEL_GRACE, work_dir: Path | None = None, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.kube = kube or KubeAccess()
        self.storage = storage or ReleaseStorage()
        self.openapi = openapi
        self.call_timeout = call_timeout
        self.cancel_grace = cancel_grace
        self._own_work_dir = work_dir is None
        if work_dir is None:
            remove_stale_work_dirs()
        self._work_dir = Path(work_dir) if work_dir else _new_work_dir()
        self.stager = ChartStager(self._work_dir / "charts")
        self.workers = 1 if self.storage.driver == "memory" else workers
        self._idle: list[Worker] = []  # started and free
        self._busy: set[Worker] = set()
        self._free = threading.Semaphore(self.workers)
        self._lock = threading.Lock()

    def __enter__(self) -> HelmSdkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            workers, self._idle = [*self._idle, *self._busy], []
            self._busy = set()
        for worker in workers:
            worker.stop()
        if self._own_work_dir:
            shutil.rmtree(self._work_dir, ignore_errors=True)

    def cancel(self) -> None:
        with self._lock:
            busy = list(self._busy)
        for worker in busy:
            worker.interrupt()

    # offline

    def load(self, chart: Path) -> ChartInfo:
        staged = self.stager.stage(chart)
        meta = self._call("metadata", {"chart": str(staged)})
        return ChartInfo(
            name=str(meta.get("name", "")), version=str(meta.get("version", "")),
            source=Path(chart).resolve(), staged=staged, digest=tree_digest(staged),
            dependencies=[str(d.get("name", "")) for d in meta.get("dependencies") or []],
        )

    def lint(self, chart: Path, values: dict[str, Any] | None = None) -> LintReport:
        staged = self.stager.stage(chart)
        report = self._call("lint", {"chart": str(staged), "values": values})
        severities = {0: "unknown", 1: "info", 2: "warning", 3: "error"}
        return LintReport(
            messages=[LintMessage(severities.get(int(m.get("severity", 0)), "unknown"),
                                  str(m.get("path", "")), str(m.get("error", "")))
                      for m in report.get("messages") or []],
            errors=[str(e) for e in report.get("errors") or []],
        )

    def render(self, chart: Path, values: dict[str, Any] | None = None, *, release: str,
               namespace: str) -> dict[str, str]:
        staged = self.stager.stage(chart)
        manifests: dict[str, str] = self._call("render", {"chart": str(staged), "values": values,
                                                          "release": release, "namespace": namespace})
        return manifests

    # cluster

    def install(self, release: str, chart: Path, values: dict[str, Any] | None = None, *,
                namespace: str, timeout: float = 300, description: str | None = None,
                labels: dict[str, str] | None = None) -> ReleaseInfo:
        staged = self.stager.stage(chart)
        data = self._call("install", {"chart": str(staged), "values": values, "release": release,
                                      "namespace": namespace, "timeout": int(timeout),
                                      "description": description, "labels": labels},
                          deadline=timeout + DEADLINE_SLACK)
        return ReleaseInfo.from_sdk(data)

    def upgrade(self, release: str, chart: Path, values: dict[str, Any] | None = None, *,
                namespace: str, timeout: float = 300, description: str | None = None,
                install: bool = False, labels: dict[str, str] | None = None) -> ReleaseInfo:
        if install and self.status(release, namespace=namespace) is None:
            return self.install(release, chart, values, namespace=namespace, timeout=timeout,
                                description=description, labels=labels)
        staged = self.stager.stage(chart)
        data = self._call("upgrade", {"chart": str(staged), "values": values, "release": release,
                                      "namespace": namespace, "timeout": int(timeout),
                                      "description": description, "labels": labels},
                          deadline=timeout + DEADLINE_SLACK)
        return ReleaseInfo.from_sdk(data)

    def rollback(self, release: str, *, namespace: str, revision: int | None = None,
                 timeout: float = 300) -> ReleaseInfo:
        self._call("rollback", {"release": release, "namespace": namespace, "revision": revision,
                                "timeout": int(timeout)}, deadline=timeout + DEADLINE_SLACK)
        current = self.status(release, namespace=namespace)
        if current is None:
            raise ReleaseNotFound(f"release {release!r} vanished after rollback")
        return current

    def history(self, release: str, *, namespace: str) -> list[ReleaseInfo]:
        return [ReleaseInfo.from_sdk(r) for r in
                self._call("history", {"release": release, "namespace": namespace})]

    def status(self, release: str, *, namespace: str) -> ReleaseInfo | None:
        try:
            return ReleaseInfo.from_sdk(self._call("status", {"release": release, "namespace": namespace}))
        except ReleaseNotFound:
            return None

    def get(self, release: str, *, namespace: str, revision: int | None = None) -> ReleaseInfo | None:
        """A stored revision with its manifest, read from release storage only (no cluster queries)."""
        try:
            return ReleaseInfo.from_sdk(self._call("get", {"release": release, "namespace": namespace,
                                                           "revision": revision}))
        except ReleaseNotFound:
            return None

    def values(self, release: str, *, namespace: str, revision: int | None = None) -> dict[str, Any]:
        """The user-supplied values of a stored revision (secrets among them: keep them in 0600 files)."""
        found: dict[str, Any] = self._call("values", {"release": release, "namespace": namespace,
                                                      "revision": revision})
        return found

    def uninstall(self, release: str, *, namespace: str, timeout: float = 300,
                  keep_history: bool = False) -> None:
        self._call("uninstall", {"release": release, "namespace": namespace, "timeout": int(timeout),
                                 "keep_history": keep_history}, deadline=timeout + DEADLINE_SLACK)

    def list(self, *, namespace: str | None = None, all_states: bool = False) -> list[ReleaseInfo]:
        found = self._call("list", {"namespace": namespace, "all_states": all_states})
        return sorted((ReleaseInfo.from_sdk(r) for r in found), key=lambda r: (r.namespace, r.name))

    # plumbing

    def _call(self, op: str, args: dict[str, Any], *, deadline: float | None = None) -> Any:
        try:
            return self._call_once(op, args, deadline=deadline)
        except HelmEngineError as exc:
            # Helm's sql driver creates its tables when a worker first opens it; two workers doing so at
            # once on an empty database collide in PostgreSQL's catalogue. Nothing was done: try again.
            if self.storage.driver != "sql" or "unable to instantiate SQL driver" not in str(exc):
                raise
            time.sleep(0.5)
            return self._call_once(op, args, deadline=deadline)

    def _call_once(self, op: str, args: dict[str, Any], *, deadline: float | None = None) -> Any:
        with self._free:
            worker = self._take()
            healthy = True
            try:
                return worker.call(op, args, deadline or self.call_timeout)
            except HelmEngineError as exc:
                if exc.kind in ("timeout", "worker") or worker.stuck:
                    healthy = False
                    worker.kill()
                raise
            finally:
                with self._lock:
                    self._busy.discard(worker)
                    if healthy and worker.alive():
                        self._idle.append(worker)

    def _take(self) -> Worker:
        """A free worker (the semaphore guarantees one is free or may be started)."""
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    self._busy.add(worker)
                    return worker
        worker = Worker(self._settings(), self.storage, self.cancel_grace)  # outside the lock: takes ~1 s
        with self._lock:
            self._busy.add(worker)
        return worker

    def _settings(self) -> dict[str, Any]:
        return {
            "kubeconfig": str(self.kube.kubeconfig) if self.kube.kubeconfig else None,
            "context": self.kube.context,
            "driver": self.storage.driver,
            "no_openapi": not self.openapi,
        }
