"""Where a run stands, read from its journal and lock: the generic table and JSON of `status`."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, IO
from collections.abc import Callable, Sequence

from installer import redact
from installer.engine import journal as jr
from installer.engine.lock import current_holder, describe_holder


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) if t else "-"


def _duration(record: jr.StepRecord) -> str:
    d = record.duration
    if d is None:
        return "-"
    return f"{d:.1f}s" if d < 120 else f"{d / 60:.1f}m"


def status_data(state_dir: Path, order: list[str] | None = None) -> dict[str, Any]:
    holder = current_holder(state_dir)
    journal = jr.Journal.load(state_dir, running_is_dead=holder is None)
    ids = list(order or [])
    ids += [sid for sid in journal.steps if sid not in ids]
    steps = []
    for sid in ids:
        record = journal.get(sid) or jr.StepRecord(sid)
        steps.append({"id": sid, "outcome": record.outcome, "started": record.started, "finished": record.finished,
                      "duration": record.duration, "attempts": record.attempts, "message": record.message,
                      "remediation": record.remediation, "details": record.details})
    last_run = journal.runs[-1] if journal.runs else None
    return {"install": journal.install, "state_dir": str(state_dir), "journal": journal.exists(),
            "running": holder, "last_run": last_run, "steps": steps}


def cut_short(run: dict[str, Any] | None) -> bool:
    """A run that succeeded up to the step it was deliberately cut after: it did not do its pipeline's whole job."""
    return bool(run and run.get("cut_after") and run.get("outcome") == jr.SUCCEEDED)


FailedItems = Callable[[str, dict[str, Any]], list[str]]


def render_status(data: dict[str, Any], out: IO[str], failed_items: FailedItems = lambda step, details: [],
                  facts: Sequence[str] = ()) -> None:
    """The status table; failed_items names what broke inside a failed step (from its journalled details),
    facts are the domain's lines about the install (what it runs now) shown under the last run's line."""
    lines = [f"install {data['install'] or '?'} (state: {data['state_dir']})"]
    if data["running"] is not None:
        lines.append("a run is in progress: " + describe_holder(data["running"], Path(data["state_dir"]) / "install.lock"))
    run = data["last_run"]
    if run:
        mode = " dry-run" if run.get("dry_run") else (" resume" if run.get("resume") else "")
        command = f" ({run['command']})" if run.get("command") else ""
        outcome = str(run.get("outcome"))
        if cut_short(run):
            outcome = f"stopped after {run['cut_after']} as asked; the steps after it have not run"
        lines.append(f"last run{mode}{command}: {outcome} (started {_when(run.get('started'))} UTC, "
                     f"finished {_when(run.get('finished'))} UTC); log: {run.get('log_path')}")
    lines += facts
    width = max([len(s["id"]) for s in data["steps"]] + [4])
    lines.append(f"{'step'.ljust(width)}  {'outcome':<11}  {'duration':>8}  {'tries':>5}  last error")
    for step in data["steps"]:
        record = jr.StepRecord(step["id"], started=step["started"], finished=step["finished"])
        error = ""
        if step["outcome"] in (jr.FAILED, jr.INTERRUPTED):
            error = step["message"]
            if step["remediation"]:
                error += ("\n" if "\n" in error.strip() else " ") + f"-> {step['remediation']}"
        prefix = f"{step['id'].ljust(width)}  {step['outcome']:<11}  {_duration(record):>8}  {step['attempts']:>5}  "
        error_lines = error.splitlines() or [""]
        lines.append((prefix + error_lines[0]).rstrip())
        lines += [" " * len(prefix) + more for more in error_lines[1:]]
        if step["outcome"] in (jr.FAILED, jr.INTERRUPTED):
            lines += [" " * len(prefix) + f"- {item}" for item in failed_items(step["id"], step.get("details") or {})]
    first_open = next((s for s in data["steps"] if s["outcome"] != jr.SUCCEEDED), None)
    if first_open is None and data["steps"] and run and cut_short(run):
        lines.append(f"every step up to {run['cut_after']} succeeded; the run was cut there on purpose")
    elif first_open is None and data["steps"]:
        lines.append("every step succeeded")
    elif first_open is not None and data["journal"] and data["running"] is None:
        lines.append(f"next: `--resume` continues at {first_open['id']}")
    out.write(redact.mask("\n".join(lines)) + "\n")


def render_status_json(data: dict[str, Any], out: IO[str]) -> None:
    out.write(redact.mask(json.dumps(redact.mask_tree(data), default=str)) + "\n")
