"""Helm's real engine (helm-python-sdk, Helm v4's Go SDK) behind a small interface.

Interface (`HelmEngine`; `HelmSdkEngine` is the implementation):

    engine = HelmSdkEngine(kube=KubeAccess(kubeconfig=Path, context=None),
                           storage=ReleaseStorage("secret"),        # or "memory", or
                           # ReleaseStorage("sql", sql_dsn="host=... dbname=...")
                           emulator=False)                          # True: the kmock workarounds
    with engine:                                                    # close() stops the worker
        chart = engine.load(path)          -> ChartInfo (name, version, staged dir, digest, deps)
        engine.lint(path, values)          -> LintReport (messages, errors, ok)
        engine.render(path, values, release=, namespace=)  -> dict[template path, manifest]
        engine.install(release, path, values, namespace=, timeout=, description=, labels=)  -> ReleaseInfo
        engine.upgrade(release, path, values, namespace=, timeout=, description=, labels=,
                       install=False)      -> ReleaseInfo (install=True: install when absent)
        engine.rollback(release, namespace=, revision=None, timeout=)            -> ReleaseInfo
        engine.history(release, namespace=)  -> list[ReleaseInfo], oldest first
        engine.status(release, namespace=)   -> ReleaseInfo | None
        engine.get(release, namespace=, revision=None) -> ReleaseInfo | None (stored revision with its
                                             manifest, from release storage only)
        engine.uninstall(release, namespace=, timeout=, keep_history=False)      -> None
        engine.list(namespace=None, all_states=False)  -> list[ReleaseInfo] (None = every namespace)
        engine.cancel()                      cancels the install/upgrade in flight
    ReleaseInfo: name, namespace, revision, status, chart_name, chart_version, deployed_at,
            description, manifest (install/upgrade/status only), labels (Helm's release labels).
    Errors: HelmEngineError (.kind: chart|values|render|kube|release|not-found|storage|
            timeout|cancelled|worker), ChartNeedsNetwork (an air-gap defect of the chart tree),
            ReleaseNotFound. A call that outlives its deadline (Helm's timeout + 30 s, or
            call_timeout for reads) kills the worker and raises kind "timeout"; the next call
            starts a fresh worker (memory storage is then empty).
    Helpers: load_yaml / load_yaml_all (libyaml), tree_digest / chart_digest (chart content with
            its file:// dependencies), ChartStager.

Charts are staged before loading: every `file://` dependency (DIGIT's `common`
library chart) is copied into a private copy's `charts/`, recursively, so the
source tree is never written to and nothing is fetched. A dependency that is
neither `file://` nor vendored in `charts/` raises ChartNeedsNetwork.

The Go library runs in a child process (`python -m installer.adapters.helm`), one per
engine, for four reasons found by probing:
- Helm's `sql` release driver reads HELM_DRIVER_SQL_CONNECTION_STRING from the
  environment the process *started* with (the Go runtime copies it at load; setting
  os.environ later has no effect), so the DSN is handed to the child in its environment,
  never on a command line;
- list/history/rollback/uninstall take no cancellation token, so a hung API server can
  only be bounded by a deadline that kills the child;
- a Go runtime inside the installer process would make every later fork() unsafe;
- the 85 MB library never loads for commands that do not need it.

Release storage: "secret" on real clusters (Helm's default). The kmock emulator cannot
read the protobuf Helm's secret/configmap drivers send, so against it use "memory"
(forgotten when the engine closes) or "sql" with a PostgreSQL DSN (releases survive the
process and are seen by any other engine using the same DSN). Helm's memory driver keeps one
store per namespace, so with it `list()` must be given the namespace. With `emulator=True`
install/upgrade/rollback pass the native options `disable_openapi_validation: true`
(the emulator has no OpenAPI), `server_side_apply: false`, and `disable_hooks: true` (Helm
validates hook manifests against OpenAPI regardless, and nothing there would complete a hook Job).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

SQL_DSN_ENV = "HELM_DRIVER_SQL_CONNECTION_STRING"
STORAGE_DRIVERS = ("secret", "configmap", "memory", "sql")
DEFAULT_CALL_TIMEOUT = 120.0
WORKER_START_TIMEOUT = 30.0
# Slack beyond Helm's own timeout before the worker is presumed hung.
DEADLINE_SLACK = 30.0
CANCEL_GRACE = 5.0


class HelmEngineError(Exception):
    """A Helm action failed; `kind` says which part of Helm refused."""

    def __init__(self, message: str, kind: str = "release") -> None:
        super().__init__(message)
        self.kind = kind


class ReleaseNotFound(HelmEngineError):
    def __init__(self, message: str) -> None:
        super().__init__(message, kind="not-found")


class ChartNeedsNetwork(HelmEngineError):
    """A dependency would have to be downloaded: fix the chart bundle, not the deploy."""

    def __init__(self, chart: Path, dependency: str, repository: str) -> None:
        super().__init__(
            f"{chart}: dependency {dependency!r} comes from {repository!r} and is not vendored "
            f"in {chart / 'charts'}; it would need the network (an air-gap defect of the bundle)",
            kind="chart",
        )
        self.chart = chart
        self.dependency = dependency
        self.repository = repository


@dataclass(frozen=True)
class KubeAccess:
    kubeconfig: Path | None = None
    context: str | None = None


@dataclass(frozen=True)
class ReleaseStorage:
    driver: str = "secret"
    sql_dsn: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.driver not in STORAGE_DRIVERS:
            raise ValueError(f"unknown Helm storage driver {self.driver!r}; one of {STORAGE_DRIVERS}")
        if (self.driver == "sql") != (self.sql_dsn is not None):
            raise ValueError("the sql driver needs sql_dsn, and only it takes one")


@dataclass(frozen=True)
class ReleaseInfo:
    name: str
    namespace: str
    revision: int
    status: str
    chart_name: str = ""
    chart_version: str = ""
    deployed_at: str = ""
    description: str = ""
    manifest: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_sdk(cls, data: dict[str, Any]) -> ReleaseInfo:
        return cls(
            name=str(data.get("name", "")),
            namespace=str(data.get("namespace", "")),
            revision=int(data.get("revision", 0) or 0),
            status=str(data.get("status", "")),
            chart_name=str(data.get("chart_name", "")),
            chart_version=str(data.get("chart_version", "")),
            deployed_at=str(data.get("deployed_at", "") or ""),
            description=str(data.get("description", "") or ""),
            manifest=data.get("manifest"),
            labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()},
        )


@dataclass(frozen=True)
class LintMessage:
    severity: str
    path: str
    message: str


@dataclass(frozen=True)
class LintReport:
    messages: list[LintMessage]
    errors: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors and all(m.severity != "error" for m in self.messages)


@dataclass(frozen=True)
class ChartInfo:
    name: str
    version: str
    source: Path
    staged: Path
    digest: str
    dependencies: list[str]


class HelmEngine(Protocol):
    def load(self, chart: Path) -> ChartInfo: ...
    def lint(self, chart: Path, values: dict[str, Any] | None = None) -> LintReport: ...
    def render(self, chart: Path, values: dict[str, Any] | None = None, *, release: str,
               namespace: str) -> dict[str, str]: ...
    def install(self, release: str, chart: Path, values: dict[str, Any] | None = None, *,
                namespace: str, timeout: float = 300, description: str | None = None) -> ReleaseInfo: ...
    def upgrade(self, release: str, chart: Path, values: dict[str, Any] | None = None, *,
                namespace: str, timeout: float = 300, description: str | None = None,
                install: bool = False) -> ReleaseInfo: ...
    def rollback(self, release: str, *, namespace: str, revision: int | None = None,
                 timeout: float = 300) -> ReleaseInfo: ...
    def history(self, release: str, *, namespace: str) -> list[ReleaseInfo]: ...
    def status(self, release: str, *, namespace: str) -> ReleaseInfo | None: ...
    def uninstall(self, release: str, *, namespace: str, timeout: float = 300,
                  keep_history: bool = False) -> None: ...
    def list(self, *, namespace: str | None = None, all_states: bool = False) -> list[ReleaseInfo]: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...


# --- chart staging (pure Python, no Helm needed) -------------------------------------------

def load_yaml(text: str) -> Any:
    """Safe YAML through libyaml (PyYAML, a dependency of the Kubernetes client): charts are big."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_yaml_all(text: str) -> list[Any]:
    import yaml

    return list(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def _read_yaml(path: Path) -> Any:
    return load_yaml(path.read_text(encoding="utf-8"))


def _declared_dependencies(chart_dir: Path) -> list[dict[str, Any]]:
    meta = _read_yaml(chart_dir / "Chart.yaml") or {}
    deps = meta.get("dependencies")
    if deps is None and (chart_dir / "requirements.yaml").is_file():
        deps = (_read_yaml(chart_dir / "requirements.yaml") or {}).get("dependencies")
    return list(deps or [])


def _vendored(chart_dir: Path, name: str) -> bool:
    vendor = chart_dir / "charts"
    if not vendor.is_dir():
        return False
    if (vendor / name / "Chart.yaml").is_file():
        return True
    return any(p.name.startswith(f"{name}-") and p.name.endswith(".tgz") for p in vendor.iterdir())


def tree_digest(root: Path) -> str:
    """sha256 over every file's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


def chart_digest(chart: Path, _trail: tuple[Path, ...] = ()) -> str:
    """The digest of a chart as it would be staged: its files plus, recursively, its file:// dependencies."""
    chart = Path(chart).resolve()
    digest = hashlib.sha256(tree_digest(chart).encode())
    if chart in _trail:
        raise HelmEngineError(f"file:// dependency cycle at {chart}", kind="chart")
    for dep in _declared_dependencies(chart):
        repository = str(dep.get("repository", "") or "")
        if repository.startswith("file://"):
            source = (chart / repository[len("file://"):]).resolve()
            if not (source / "Chart.yaml").is_file():
                raise HelmEngineError(f"{chart / 'Chart.yaml'}: dependency {dep.get('name')!r} points to "
                                      f"{repository!r}, which is not a chart directory ({source})", kind="chart")
            digest.update(chart_digest(source, (*_trail, chart)).encode())
        elif not _vendored(chart, str(dep.get("name", ""))):
            raise ChartNeedsNetwork(chart, str(dep.get("name", "")), repository)
    return "sha256:" + digest.hexdigest()


class ChartStager:
    """Copies charts with their file:// dependencies vendored, once per source directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._staged: dict[Path, Path] = {}
        self._lock = threading.Lock()

    def stage(self, chart: Path) -> Path:
        chart = Path(chart).resolve()
        with self._lock:
            return self._stage(chart, ())

    def _stage(self, chart: Path, trail: tuple[Path, ...]) -> Path:
        if chart in self._staged:
            return self._staged[chart]
        if chart in trail:
            cycle = " -> ".join(str(p) for p in (*trail, chart))
            raise HelmEngineError(f"file:// dependency cycle: {cycle}", kind="chart")
        if not (chart / "Chart.yaml").is_file():
            raise HelmEngineError(f"{chart}: no Chart.yaml (not a chart directory)", kind="chart")
        try:
            deps = _declared_dependencies(chart)
        except Exception as exc:  # malformed YAML is reported as a chart defect
            raise HelmEngineError(f"{chart / 'Chart.yaml'}: unreadable: {exc}", kind="chart") from exc
        key = hashlib.sha256(str(chart).encode()).hexdigest()[:16]
        target = self.root / key / chart.name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(chart, target, symlinks=False)
        for dep in deps:
            name = str(dep.get("name", ""))
            repository = str(dep.get("repository", "") or "")
            if repository.startswith("file://"):
                source = (chart / repository[len("file://"):]).resolve()
                if not (source / "Chart.yaml").is_file():
                    raise HelmEngineError(
                        f"{chart / 'Chart.yaml'}: dependency {name!r} points to {repository!r}, "
                        f"which is not a chart directory ({source})",
                        kind="chart",
                    )
                staged_dep = self._stage(source, (*trail, chart))
                vendor = target / "charts"
                vendor.mkdir(exist_ok=True)
                dest = vendor / staged_dep.name
                if dest.exists():
                    shutil.rmtree(dest)
                shutil.copytree(staged_dep, dest, symlinks=False)
            elif not _vendored(chart, name):
                raise ChartNeedsNetwork(chart, name, repository)
        self._staged[chart] = target
        return target


# --- the engine ------------------------------------------------------------------------------

class HelmSdkEngine:
    """HelmEngine over helm-python-sdk, in one child process per engine."""

    def __init__(self, kube: KubeAccess | None = None, storage: ReleaseStorage | None = None, *,
                 emulator: bool = False, call_timeout: float = DEFAULT_CALL_TIMEOUT,
                 cancel_grace: float = CANCEL_GRACE, work_dir: Path | None = None) -> None:
        self.kube = kube or KubeAccess()
        self.storage = storage or ReleaseStorage()
        self.emulator = emulator
        self.call_timeout = call_timeout
        self.cancel_grace = cancel_grace
        self._own_work_dir = work_dir is None
        self._work_dir = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="digit-helm-"))
        self.stager = ChartStager(self._work_dir / "charts")
        self._worker: _Worker | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> HelmSdkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
        if self._own_work_dir:
            shutil.rmtree(self._work_dir, ignore_errors=True)

    def cancel(self) -> None:
        worker = self._worker
        if worker is not None:
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
        return self._call("render", {"chart": str(staged), "values": values, "release": release,
                                     "namespace": namespace})

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

    def uninstall(self, release: str, *, namespace: str, timeout: float = 300,
                  keep_history: bool = False) -> None:
        self._call("uninstall", {"release": release, "namespace": namespace, "timeout": int(timeout),
                                 "keep_history": keep_history}, deadline=timeout + DEADLINE_SLACK)

    def list(self, *, namespace: str | None = None, all_states: bool = False) -> list[ReleaseInfo]:
        found = self._call("list", {"namespace": namespace, "all_states": all_states})
        return sorted((ReleaseInfo.from_sdk(r) for r in found), key=lambda r: (r.namespace, r.name))

    # plumbing

    def _call(self, op: str, args: dict[str, Any], *, deadline: float | None = None) -> Any:
        with self._lock:
            if self._worker is None or not self._worker.alive():
                self._worker = _Worker(self._settings(), self.storage, self.cancel_grace)
            worker = self._worker
            try:
                return worker.call(op, args, deadline or self.call_timeout)
            except HelmEngineError as exc:
                if exc.kind in ("timeout", "worker") or worker.stuck:
                    worker.kill()
                    self._worker = None
                raise

    def _settings(self) -> dict[str, Any]:
        return {
            "kubeconfig": str(self.kube.kubeconfig) if self.kube.kubeconfig else None,
            "context": self.kube.context,
            "driver": self.storage.driver,
            "emulator": self.emulator,
        }


class _Worker:
    """The child process speaking JSON lines on stdin/stdout."""

    def __init__(self, settings: dict[str, Any], storage: ReleaseStorage, cancel_grace: float = CANCEL_GRACE) -> None:
        self.cancel_grace = cancel_grace
        env = dict(os.environ)
        env.pop(SQL_DSN_ENV, None)
        if storage.sql_dsn is not None:
            env[SQL_DSN_ENV] = storage.sql_dsn
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self._stderr: deque[str] = deque(maxlen=40)
        self.cancel_at: float | None = None
        self.stuck = False
        self._replies: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "installer.adapters.helm", json.dumps(settings)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, text=True, encoding="utf-8", bufsize=1,
        )
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        self.call("ping", {}, WORKER_START_TIMEOUT)

    def _pump_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def _pump_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line.rstrip())

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, op: str, args: dict[str, Any], timeout: float) -> Any:
        try:
            return self._exchange(op, args, timeout)
        finally:
            self.cancel_at = None

    def _exchange(self, op: str, args: dict[str, Any], timeout: float) -> Any:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise HelmEngineError(f"the Helm worker is gone: {exc}; {self._tail()}", kind="worker") from exc
        deadline = time.monotonic() + timeout
        line: str | None = ""
        while line == "":
            now = time.monotonic()
            if self.cancel_at is not None and now >= self.cancel_at:
                self.stuck = True
                raise HelmEngineError(f"Helm {op} was cancelled (stopped after {self.cancel_grace:g} s)",
                                      kind="cancelled")
            if now >= deadline:
                raise HelmEngineError(f"Helm {op} did not answer within {timeout:.0f} s", kind="timeout")
            try:
                line = self._replies.get(timeout=min(0.2, deadline - now))
            except queue.Empty:
                line = ""
        if line is None:
            raise HelmEngineError(f"the Helm worker exited during {op}; {self._tail()}", kind="worker")
        reply = json.loads(line)
        if reply.get("ok"):
            return reply.get("result")
        kind, message = reply.get("kind", "release"), reply.get("message", "")
        if kind == "not-found":
            raise ReleaseNotFound(message)
        raise HelmEngineError(message, kind=kind)

    def _tail(self) -> str:
        return "worker stderr: " + (" | ".join(self._stderr) or "(empty)")

    def interrupt(self) -> None:
        """Ask Helm to cancel; an action stuck where Helm's context does not reach (a silent API
        server during discovery) is cut off after cancel_grace seconds by killing the worker."""
        if self.alive():
            self.process.send_signal(signal.SIGUSR1)
            if self.cancel_at is None:
                self.cancel_at = time.monotonic() + self.cancel_grace

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


# --- the worker side -----------------------------------------------------------------------

_KIND_BY_ERROR = {
    "HelmChartLoadError": "chart", "HelmChartInvalidError": "chart", "HelmValuesError": "values",
    "HelmRenderError": "render", "HelmKubeError": "kube", "HelmReleaseError": "release",
    "HelmNotFoundError": "not-found", "HelmStorageError": "storage", "HelmCancelledError": "cancelled",
}


class _Server:
    def __init__(self, settings: dict[str, Any]) -> None:
        import helm_python

        self.helm = helm_python
        self.settings = settings
        self.configs: dict[str, Any] = {}
        self.context: Any = None
        signal.signal(signal.SIGUSR1, self._on_interrupt)

    def _on_interrupt(self, *_: object) -> None:
        context = self.context
        if context is not None:
            context.cancel()

    def config(self, namespace: str | None) -> Any:
        key = namespace or ""
        if key not in self.configs:
            self.configs[key] = self.helm.Config(
                kubeconfig_path=self.settings.get("kubeconfig"),
                kube_context=self.settings.get("context"),
                namespace=namespace or "default",
                storage_driver=self.settings.get("driver") or "secret",
            )
        return self.configs[key]

    def _apply_options(self, namespace: str, timeout: int, description: str | None,
                       upgrade: bool, labels: dict[str, str] | None = None) -> str:
        options: dict[str, Any] = {"namespace": namespace, "timeout_seconds": timeout}
        if description:
            options["description"] = description
        if labels:
            options["labels"] = labels
        if self.settings.get("emulator"):
            options["disable_openapi_validation"] = True
            # Helm validates hook manifests against OpenAPI whatever the flag above says, and no
            # controller would ever complete a hook Job there.
            options["disable_hooks"] = True
            # The upgrade action takes this flag as a string ("auto" is its default).
            options["server_side_apply"] = "false" if upgrade else False
        return json.dumps(options)

    def run(self, op: str, args: dict[str, Any]) -> Any:
        helm = self.helm
        native = helm._native
        values = args.get("values")
        if op == "ping":
            return {"sdk": helm.helm_sdk_version()}
        if op == "metadata":
            with helm.Chart.load(args["chart"]) as chart:
                meta = chart.metadata
                meta["dependencies"] = chart.dependencies
                return meta
        if op == "lint":
            return helm.lint(args["chart"], values)
        if op == "render":
            with helm.Chart.load(args["chart"]) as chart:
                return chart.render(values, name=args["release"], namespace=args["namespace"],
                                    is_install=True)
        ns = args.get("namespace")
        if op in ("install", "upgrade"):
            config = self.config(ns)
            with helm.Chart.load(args["chart"]) as chart, helm.HelmContext() as context:
                options = self._apply_options(ns, args["timeout"], args.get("description"), op == "upgrade",
                                              args.get("labels"))
                outcome: dict[str, Any] = {}

                def act() -> None:
                    try:
                        outcome["payload"] = native.call_string(
                            f"helm_{op}", config._raw(), context._raw(), chart._raw(), None,
                            args["release"], None if values is None else json.dumps(values), options)
                    except BaseException as exc:  # handed to the serving thread below
                        outcome["error"] = exc

                # The action runs in a thread so this (main) thread stays free to run the
                # SIGUSR1 handler that cancels it.
                self.context = context
                worker = threading.Thread(target=act, daemon=True)
                worker.start()
                try:
                    while worker.is_alive():
                        worker.join(0.2)
                finally:
                    self.context = None
            if "error" in outcome:
                raise outcome["error"]
            return json.loads(outcome["payload"])
        if op == "rollback":
            options: dict[str, Any] = {"timeout_seconds": args["timeout"]}
            if args.get("revision") is not None:
                options["version"] = args["revision"]
            if self.settings.get("emulator"):
                options["server_side_apply"] = "false"
            native.call_status("helm_rollback", self.config(ns)._raw(), args["release"], json.dumps(options))
            return None
        if op == "history":
            return self.config(ns).history(args["release"])
        if op == "status":
            return self.config(ns).status(args["release"])
        if op == "get":
            options = json.dumps({"revision": args["revision"]}) if args.get("revision") else None
            return json.loads(native.call_string("helm_get", self.config(ns)._raw(), args["release"],
                                                 options))["summary"]
        if op == "uninstall":
            self.config(ns).uninstall(args["release"], timeout=args["timeout"],
                                      keep_history=args.get("keep_history", False))
            return None
        if op == "list":
            return self.config(ns).list(all_states=args.get("all_states", False),
                                        all_namespaces=ns is None)
        raise ValueError(f"unknown operation {op!r}")

    def serve(self) -> None:
        for line in sys.stdin:
            request = json.loads(line)
            result: dict[str, Any]
            try:
                result = {"ok": True, "result": self.run(request["op"], request.get("args") or {})}
            except self.helm.HelmError as exc:
                result = {"ok": False, "kind": _KIND_BY_ERROR.get(type(exc).__name__, "release"),
                          "message": str(exc)}
            except Exception as exc:  # reported to the caller, who owns the process
                result = {"ok": False, "kind": "worker", "message": f"{type(exc).__name__}: {exc}"}
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    _Server(json.loads(sys.argv[1])).serve()
