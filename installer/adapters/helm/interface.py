"""What the installer asks of Helm: the `HelmEngine` contract, its value types and its errors.

Nothing here loads Helm; `client.HelmSdkEngine` is the implementation over Helm's real engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

STORAGE_DRIVERS = ("secret", "configmap", "memory", "sql")
# The environment variable Helm's sql release driver reads its DSN from (see worker.py for why
# it is handed to the child process in its environment).
SQL_DSN_ENV = "HELM_DRIVER_SQL_CONNECTION_STRING"


class HelmEngineError(Exception):
    """A Helm action failed; `kind` says which part of Helm refused.

    kind: chart | values | render | kube | release | not-found | storage | timeout | cancelled | worker
    """

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
    """Which cluster Helm talks to: a kubeconfig file (None: Helm's default) and a context in it."""

    kubeconfig: Path | None = None
    context: str | None = None


@dataclass(frozen=True)
class ReleaseStorage:
    """Where Helm keeps release records: Secrets (Helm's default), ConfigMaps, memory or SQL."""

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
    """Helm's actions on charts (offline) and releases (on a cluster).

    Every method raises HelmEngineError (its `kind` names the cause); ChartNeedsNetwork when a
    chart's dependency is neither `file://` nor vendored. A chart is always staged first (a
    private copy with its `file://` dependencies vendored), so the source tree is never written.

    Timeouts: install/upgrade/rollback/uninstall take Helm's own `timeout` (seconds); the call is
    abandoned `timeout` + a slack later with kind "timeout". Every other call is bounded by the
    engine's call timeout. `cancel()` stops an install/upgrade in flight (kind "cancelled").
    """

    def load(self, chart: Path) -> ChartInfo:
        """The chart's name, version, staged copy, digest and dependencies."""
        ...

    def lint(self, chart: Path, values: dict[str, Any] | None = None) -> LintReport:
        """Helm's lint of the chart with these values; findings are returned, not raised."""
        ...

    def render(self, chart: Path, values: dict[str, Any] | None = None, *, release: str,
               namespace: str) -> dict[str, str]:
        """Template path -> rendered manifest, as `helm template` would; kind "render" on a template error."""
        ...

    def install(self, release: str, chart: Path, values: dict[str, Any] | None = None, *,
                namespace: str, timeout: float = 300, description: str | None = None,
                labels: dict[str, str] | None = None) -> ReleaseInfo:
        """Install a new release; kind "release" when it exists already."""
        ...

    def upgrade(self, release: str, chart: Path, values: dict[str, Any] | None = None, *,
                namespace: str, timeout: float = 300, description: str | None = None,
                install: bool = False, labels: dict[str, str] | None = None) -> ReleaseInfo:
        """Upgrade a release; with install=True a missing release is installed, else a missing one fails."""
        ...

    def rollback(self, release: str, *, namespace: str, revision: int | None = None,
                 timeout: float = 300) -> ReleaseInfo:
        """Roll back to `revision` (None: the previous one); returns the new current revision."""
        ...

    def history(self, release: str, *, namespace: str) -> list[ReleaseInfo]:
        """Every stored revision, oldest first; ReleaseNotFound for an unknown release."""
        ...

    def status(self, release: str, *, namespace: str) -> ReleaseInfo | None:
        """The current revision with its manifest, or None when there is no such release."""
        ...

    def get(self, release: str, *, namespace: str, revision: int | None = None) -> ReleaseInfo | None:
        """A stored revision with its manifest, read from release storage only (no cluster queries)."""
        ...

    def values(self, release: str, *, namespace: str, revision: int | None = None) -> dict[str, Any]:
        """The values the caller gave the revision (`helm get values`, not the chart's defaults), from
        release storage only; ReleaseNotFound for an unknown release or revision. They hold the
        release's secrets: whoever keeps them writes 0600 files."""
        ...

    def uninstall(self, release: str, *, namespace: str, timeout: float = 300,
                  keep_history: bool = False) -> None:
        """Remove the release's objects (and its records unless keep_history)."""
        ...

    def list(self, *, namespace: str | None = None, all_states: bool = False) -> list[ReleaseInfo]:
        """Releases in a namespace (None: every namespace), sorted by namespace and name."""
        ...

    def cancel(self) -> None:
        """Ask the install/upgrade in flight to stop; it raises kind "cancelled"."""
        ...

    def close(self) -> None:
        """Stop whatever runs Helm and forget staged charts."""
        ...
