"""The pipeline's preflight step: the same checks as `install.sh preflight`, recorded in the state dir."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from installer.answers import Answers
from installer import redact
from installer.engine import StepContext, StepFailed
from installer.preflight.report import to_json
from installer.preflight.runner import run_preflight

REPORT_NAME = "preflight/report.json"


@dataclass(frozen=True)
class FailedCheck:
    id: str
    target: str = ""
    message: str = ""

    def describe(self) -> str:
        where = f" on {self.target}" if self.target else ""
        return f"check {self.id}{where}: {self.message}".rstrip(": ")


@dataclass
class PreflightFailure:
    """The details of a failed preflight step: every failed check (as in the report) and the report's path."""

    failed_checks: list[FailedCheck]
    checks: list[dict[str, Any]] = field(default_factory=list)  # the failed results as the report shows them
    report: str = REPORT_NAME

    def to_dict(self) -> dict[str, Any]:
        return {"failed_checks": self.checks or [asdict(c) for c in self.failed_checks], "report": self.report}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PreflightFailure:
        data = data or {}
        failed = [FailedCheck(str(c.get("id")), str(c.get("target") or ""), str(c.get("message") or ""))
                  for c in data.get("failed_checks") or [] if isinstance(c, dict)]
        return cls(failed, report=str(data.get("report") or REPORT_NAME))


def preflight(ctx: StepContext[Answers]) -> dict[str, object]:
    """Every check of `install.sh preflight`; the report is kept in the state dir for status and bundles."""
    def progress(done: int, total: int, message: str) -> None:
        ctx.progress(done, total, unit="sources", message=message)

    report = run_preflight(ctx.answers, progress=progress, cancelled=ctx.cancelled, state_dir=ctx.state_dir)
    ctx.check_cancelled()
    path = ctx.state_dir / REPORT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact.mask(to_json(report)))
    summary = report.summary()
    ctx.log(f"{summary['pass']} passed, {summary['warn']} warnings, {summary['fail']} failed, "
            f"{summary['skip']} not checked in {report.duration_s:.1f}s; report: {path}")
    for result in report.results:
        if result.status == "pass":
            continue
        line = f"{result.id} {result.target}: {result.status}: {result.message}"
        if result.status == "warn":
            ctx.warn(line, task=result.target)
        else:
            ctx.log(line, level="error" if result.status == "fail" else "info", task=result.target)
    failed = report.failed
    outputs = {"report": REPORT_NAME, "summary": report.summary(), "duration_s": round(report.duration_s, 2),
               "failed": [f"{r.id} {r.target}" for r in failed]}
    if failed:
        raise StepFailed(
            f"{len(failed)} preflight check(s) failed: " + ", ".join(f"{r.id} ({r.target}: {r.measured})" for r in failed),
            remediation="\n".join(f"{r.id} {r.target}: {r.remediation}" for r in failed),
            details=PreflightFailure([FailedCheck(r.id, r.target, r.message) for r in failed],
                                     checks=[r.to_dict() for r in failed]),
        )
    return outputs
