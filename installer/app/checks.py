"""The pipeline's first step: every referenced secret readable and the chart source present.

It runs on every resume (always_run) because an environment variable or a file may have gone
away since the last run, and nothing else may start before it has passed.
"""
from __future__ import annotations

from pathlib import Path

from installer.answers import Answers
from installer.answers import secret_refs, unreadable_secrets
from installer.engine import StepContext, StepFailed


def validate(ctx: StepContext[Answers]) -> dict[str, object]:
    answers = ctx.answers
    refs = [(key, ref) for key, ref in secret_refs(answers) if not ref.generate]
    ctx.progress(0, len(refs), "secrets")
    problems = [f"{key_path} ({ref.describe()}): {problem}" for key_path, ref, problem in unreadable_secrets(answers)]
    ctx.progress(len(refs), len(refs), "secrets")
    charts = Path(answers.release.charts)
    if not charts.is_dir():
        problems.append(f"release.charts: {charts} is not a directory")
    if problems:
        raise StepFailed("; ".join(problems),
                         remediation="set the named environment variables / create the named files, then rerun")
    return {"install": answers.name, "target": answers.target.kind, "secrets_checked": len(refs)}
