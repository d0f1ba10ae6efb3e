"""What the deploy steps record, typed: status, the support bundle and the later steps read these.

Each record converts to and from the JSON the journal keeps (to_dict / from_dict), so a reader
never indexes a step's outputs by string keys of its own.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from installer.checks import FAIL, PASS, SKIP


@dataclass(frozen=True)
class FailedRelease:
    name: str
    namespace: str
    reason: str = ""

    def describe(self) -> str:
        return f"release {self.name} in {self.namespace}" + (f": {self.reason}" if self.reason else "")


@dataclass
class ReleasesOutput:
    """The outcome of a step that deploys releases (deploy, monitoring, ci)."""

    releases: int = 0
    deployed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    revisions: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    dry_run: bool = False
    actions: dict[str, str] = field(default_factory=dict)  # dry run: release -> install | upgrade | unchanged
    enabled: bool = True  # False: the step's option is off in the answers and it did nothing
    secrets: list[str] = field(default_factory=list)  # namespace/name of the admin Secrets it keeps
    tracing: bool | None = None

    @property
    def ready(self) -> list[str]:
        """Releases this step left ready: deployed now or unchanged."""
        return self.deployed + self.unchanged

    def to_dict(self) -> dict[str, Any]:
        if not self.enabled:
            return {"enabled": False}
        data: dict[str, Any]
        if self.dry_run:
            data = {"dry_run": True, "actions": dict(self.actions)}
        else:
            data = {"releases": self.releases, "seconds": self.seconds, "deployed": list(self.deployed),
                    "unchanged": list(self.unchanged), "failed": list(self.failed), "skipped": list(self.skipped),
                    "cancelled": list(self.cancelled), "revisions": dict(self.revisions)}
        if self.secrets:
            data["secrets"] = list(self.secrets)
        if self.tracing is not None:
            data["tracing"] = self.tracing
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ReleasesOutput:
        data = data or {}
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


@dataclass
class ReleasesFailure:
    """The details of a failed release step: which releases broke and why, which were skipped."""

    failed_releases: list[FailedRelease]
    skipped_releases: list[str]
    outcome: ReleasesOutput

    def to_dict(self) -> dict[str, Any]:
        return {"failed_releases": [asdict(r) for r in self.failed_releases],
                "skipped_releases": list(self.skipped_releases), **self.outcome.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ReleasesFailure:
        data = data or {}
        failed = [FailedRelease(str(r.get("name")), str(r.get("namespace") or "default"), str(r.get("reason") or ""))
                  for r in data.get("failed_releases") or [] if isinstance(r, dict) and r.get("name")]
        return cls(failed, list(data.get("skipped_releases") or []), ReleasesOutput.from_dict(data))


@dataclass(frozen=True)
class Check:
    """One verification check: its outcome (installer.checks) and, when skipped, why."""

    id: str
    outcome: str
    message: str
    remediation: str = ""
    addresses: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "outcome": self.outcome, "message": self.message}
        if self.remediation:
            data["remediation"] = self.remediation
        if self.addresses:
            data["addresses"] = list(self.addresses)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        return cls(str(data.get("id")), str(data.get("outcome")), str(data.get("message") or ""),
                   str(data.get("remediation") or ""), tuple(data.get("addresses") or ()))


@dataclass
class VerifyOutput:
    checks: list[Check] = field(default_factory=list)
    dry_run: bool = False

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.outcome == FAIL]

    def to_dict(self) -> dict[str, Any]:
        if self.dry_run:
            return {"dry_run": True}
        return {"checks": [c.to_dict() for c in self.checks],
                "passed": sum(c.outcome == PASS for c in self.checks),
                "skipped": sum(c.outcome == SKIP for c in self.checks), "failed": len(self.failed)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> VerifyOutput:
        data = data or {}
        return cls([Check.from_dict(c) for c in data.get("checks") or [] if isinstance(c, dict)],
                   bool(data.get("dry_run")))
