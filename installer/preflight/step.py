"""The pipeline's preflight step: the same checks as `install.sh preflight`, recorded in the state dir."""
from __future__ import annotations

from installer import redact
from installer.engine import StepContext, StepFailed
from installer.preflight.report import to_json
from installer.preflight.runner import run_preflight

REPORT_NAME = "preflight/report.json"


def preflight(ctx: StepContext) -> dict[str, object]:
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
            details={"failed_checks": [r.to_dict() for r in failed], "report": REPORT_NAME},
        )
    return outputs
