"""A small pipeline doing real file work, run through the real headless command.

    python -m tests.engine.demo_pipeline --answers FILE --state-dir DIR --output plain [--resume]

DEMO_OUT: directory the steps write to (the "end state").
DEMO_DELAY: seconds between objects written (default 0.02).
DEMO_FAIL_AT: a step id that fails permanently, quoting the database password.
DEMO_STUBBORN: the objects step ignores cancellation (tests the second Ctrl+C).
DEMO_WARNING: a warning the objects step gives (tests how faces wrap it).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from installer.engine import Step, StepContext, StepFailed
from installer.app.checks import validate
from installer.app.headless import add_arguments, run
from installer.app.pipeline import ALL_SECTIONS
from installer.exitcodes import EXIT_INTERRUPTED

OBJECTS = 6


def _out() -> Path:
    return Path(os.environ["DEMO_OUT"])


def _maybe_fail(ctx: StepContext) -> None:
    if os.environ.get("DEMO_FAIL_AT") == ctx.step_id:
        password = ctx.answers.secret(ctx.answers.database.password)
        raise StepFailed(f"database refused password {password}", remediation=f"check that {password} is right")


def write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


def objects(ctx: StepContext) -> dict:
    delay = float(os.environ.get("DEMO_DELAY", "0.02"))
    out = _out()
    names = []
    for i in range(OBJECTS):
        name = f"object-{i}.json"
        names.append(name)
        if not ctx.dry_run:
            out.mkdir(parents=True, exist_ok=True)
            changed = write_if_changed(out / name, json.dumps({"fqdn": ctx.answers.domain.fqdn, "index": i}))
            ctx.log(f"{name}: {'written' if changed else 'unchanged'}", level="debug", task=name)
        if os.environ.get("DEMO_STUBBORN"):
            time.sleep(delay)
        else:
            ctx.sleep(delay)
        ctx.progress(i + 1, OBJECTS, "objects", task="objects")
    if os.environ.get("DEMO_WARNING"):
        ctx.warn(os.environ["DEMO_WARNING"])
    _maybe_fail(ctx)
    return {"objects": names}


def database(ctx: StepContext) -> dict:
    password = ctx.answers.secret(ctx.answers.database.password)
    ctx.log(f"connecting to {ctx.answers.database.host} with password {password}")
    ctx.warn(f"password {password} is short")
    from installer import secretstore

    generated = secretstore.get(ctx, "credentials.grafana_admin_password")
    if generated:
        ctx.log(f"grafana admin password is {generated}")
    _maybe_fail(ctx)
    return {"dsn": f"postgresql://{ctx.answers.database.username}:{password}@{ctx.answers.database.host}/egov"}


def alerts(ctx: StepContext) -> dict:
    _maybe_fail(ctx)
    if not ctx.dry_run:
        write_if_changed(_out() / "alerts.txt", str(ctx.answers.monitoring.alerts.email))
    return {"email": ctx.answers.monitoring.alerts.email}


def summary(ctx: StepContext) -> dict:
    _maybe_fail(ctx)
    listing = sorted(p.name for p in _out().iterdir() if p.name != "summary.json") if _out().exists() else []
    if not ctx.dry_run:
        write_if_changed(_out() / "summary.json", json.dumps({"steps": sorted(ctx.outputs), "files": listing}))
    text = f"Open:\n  digit     https://{ctx.answers.domain.fqdn}/\nFiles written: {len(listing)}"
    for line in text.splitlines():
        ctx.log(line)
    return {"files": len(listing), "text": text}


def build_steps(answers) -> list[Step]:
    return [
        Step("validate", "Check answers", validate, sections=ALL_SECTIONS, always_run=True),
        Step("objects", "Write objects", objects, needs=("validate",), sections=("domain",)),
        Step("database", "Database", database, needs=("objects",), sections=("database",)),
        Step("alerts", "Alerts", alerts, needs=("database",), sections=("monitoring",)),
        Step("summary", "Summary", summary, needs=("alerts",), sections=("name",)),
    ]


def main(argv: list[str]) -> int:
    """The real headless command over this pipeline, as `install.sh --answers` runs the standard one."""
    parser = argparse.ArgumentParser(prog="demo-pipeline")
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv), steps_for=build_steps)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
