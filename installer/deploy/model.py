"""The data the deploy executor works on and reports: plain dataclasses, JSON-friendly."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Outcomes a release can end a run with.
DEPLOYED = "deployed"
UNCHANGED = "unchanged"
FAILED = "failed"
SKIPPED = "skipped"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class ReleaseSpec:
    """One Helm release the executor must bring to a ready state."""

    name: str
    namespace: str
    chart: Path
    values: dict[str, Any]
    needs: tuple[str, ...] = ()
    wave: int = 0
    timeout: float = 600.0
    chart_digest: str = ""
    values_digest: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class WorkloadState:
    """Ready/desired counts of one workload, as last seen through the API."""

    kind: str
    name: str
    namespace: str
    ready: int = 0
    desired: int = 1
    done: bool = False


@dataclass
class Breakage:
    """Why a release cannot become ready, with the pod evidence an operator needs."""

    reason: str
    message: str
    pod: str = ""
    container: str = ""
    log_tail: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = f" (pod {self.pod}" + (f", container {self.container}" if self.container else "") + ")" if self.pod else ""
        text = f"{self.reason}{where}: {self.message}".rstrip(": ")
        if self.log_tail:
            text += "\n  last log lines:\n" + "\n".join(f"    {line}" for line in self.log_tail)
        return text


@dataclass
class ReleaseResult:
    """What happened to one release in one run."""

    name: str
    namespace: str
    outcome: str
    revision: int | None = None
    action: str = ""  # install | upgrade | none
    error: str = ""
    reason: str = ""
    rolled_back_to: int | None = None
    uninstalled: bool = False
    skipped_because: list[str] = field(default_factory=list)
    started_at: float | None = None
    ready_at: float | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DeployReport:
    """The outcome of a whole executor run."""

    results: dict[str, ReleaseResult] = field(default_factory=dict)
    seconds: float = 0.0

    def by_outcome(self, outcome: str) -> list[str]:
        return sorted(name for name, result in self.results.items() if result.outcome == outcome)

    @property
    def ok(self) -> bool:
        return all(r.outcome in (DEPLOYED, UNCHANGED) for r in self.results.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "deployed": self.by_outcome(DEPLOYED),
            "unchanged": self.by_outcome(UNCHANGED),
            "failed": self.by_outcome(FAILED),
            "skipped": self.by_outcome(SKIPPED),
            "cancelled": self.by_outcome(CANCELLED),
            "releases": {name: result.to_dict() for name, result in sorted(self.results.items())},
        }

    def summary_text(self) -> str:
        lines = []
        for label, outcome in (("deployed", DEPLOYED), ("unchanged", UNCHANGED), ("failed", FAILED),
                               ("skipped", SKIPPED), ("cancelled", CANCELLED)):
            names = self.by_outcome(outcome)
            if names:
                lines.append(f"{label} ({len(names)}): {', '.join(names)}")
        return "\n".join(lines)
