"""The plan as data: what an install would apply, with the derived views deploy and the reports read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer.plan.graph import ReleaseGraph
from installer.plan.objects import ClusterObject
from installer.plan.values import DatabaseEndpoint, EnvFiles, Pending, Secrets, Sizing, values_digest


@dataclass(frozen=True)
class ReleasePlan:
    """One release as the deploy steps take it from the plan."""

    name: str
    chart: Path
    namespace: str
    module: str
    needs: tuple[str, ...]
    wave: int
    values: dict[str, Any]
    chart_digest: str
    values_digest: str
    timeout: float


@dataclass
class RenderedRelease:
    name: str
    manifests: dict[str, str] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    foreign_hosts: list[str] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None


@dataclass
class Plan:
    name: str
    profile: str
    charts_root: Path
    graph: ReleaseGraph
    sizing: Sizing
    database: DatabaseEndpoint
    env_files: EnvFiles
    values: dict[str, dict[str, Any]]
    chart_digests: dict[str, str]
    secrets: Secrets
    generated: list[str]
    objects: list[ClusterObject]
    storage_class: str | None
    registry: str | None
    rendered: dict[str, RenderedRelease] = field(default_factory=dict)
    volume_nodes: list[tuple[str, str]] = field(default_factory=list)  # (node name, data path) for static PVs

    @property
    def pending(self) -> list[Pending]:
        return list(self.env_files.pending)

    @property
    def secret_values(self) -> set[str]:
        return {v for v in self.secrets.values.values() if v}

    def values_digest(self, name: str) -> str:
        return values_digest(self.values[name])

    def unmirrored_images(self, name: str) -> list[str]:
        if not self.registry or name not in self.rendered:
            return []
        return sorted(i for i in self.rendered[name].images if not i.startswith(self.registry + "/"))

    def releases(self) -> list[ReleasePlan]:
        """Per release, what deploying it needs: chart, namespace, module, needs, wave, values, digests."""
        return [ReleasePlan(name=r.name, chart=Path(r.chart), namespace=r.namespace, module=r.module,
                            needs=tuple(r.waits_for), wave=r.wave, values=self.values[r.name],
                            chart_digest=self.chart_digests[r.name], values_digest=self.values_digest(r.name),
                            timeout=float(r.timeout_seconds))
                for r in self.graph.releases]

    @property
    def render_failures(self) -> list[str]:
        return sorted(n for n, r in self.rendered.items() if r.error)
