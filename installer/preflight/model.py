"""Results of preflight checks and the report that groups them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from installer.checks import OUTCOMES
from installer.preflight.catalogue import CATALOGUE, SOURCES

STATUSES = OUTCOMES  # one vocabulary with verify (installer/checks.py)


@dataclass
class CheckResult:
    id: str
    status: str  # pass | warn | fail | skip
    target: str  # the node name, the cluster context, the database address or the domain
    measured: str
    required: str
    message: str = ""  # one sentence with the measured and the required value (the reason, when skipped)
    remediation: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return CATALOGUE[self.id].source

    @property
    def title(self) -> str:
        return CATALOGUE[self.id].title

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["source"] = self.source
        data["title"] = self.title
        if not data["details"]:
            data.pop("details")
        return data


@dataclass
class Report:
    results: list[CheckResult]
    duration_s: float = 0.0

    def by_source(self) -> dict[str, list[CheckResult]]:
        grouped: dict[str, list[CheckResult]] = {source: [] for source in SOURCES}
        for result in self.results:
            grouped[result.source].append(result)
        return {source: items for source, items in grouped.items() if items}

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> dict[str, int]:
        return {status: self.count(status) for status in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "duration_s": round(self.duration_s, 3),
            "checks": [r.to_dict() for r in self.results],
        }
