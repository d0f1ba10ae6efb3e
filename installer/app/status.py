"""`install.sh status`: every step of an install with its outcome, and what broke inside a failed one."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from installer.invocation import install_sh
from installer import redact
from installer.app.answers_file import inspect_target
from installer.app.install import register_generated
from installer.app.pipeline import build_steps
from installer.app.uninstall import STATE_SUBDIR as UNINSTALL_SUBDIR
from installer.app.upgrade import unapplied_upgrade
from installer.deploy.outputs import ReleasesFailure, VerifyOutput
from installer.deploy.releases import deployed_profile
from installer.engine.journal import FAILED, INTERRUPTED, RUNNING, SUCCEEDED, Journal, JournalError
from installer.engine.status import render_status, render_status_json, status_data
from installer.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from installer.preflight.step import PreflightFailure


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--answers", metavar="FILE", help="the answers file describing the installation")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="where the journal, lock and logs live (default: $XDG_STATE_HOME/digit-installer/<name>)")
    parser.add_argument("--output", choices=("plain", "json"), default="plain",
                        help="a table (default) or one JSON object")


def failed_items(step: str, details: dict[str, Any]) -> list[str]:
    """What inside a failed step broke, read from the details its domain journals when it fails."""
    items = [release.describe() for release in ReleasesFailure.from_dict(details).failed_releases]
    items += [check.describe() for check in PreflightFailure.from_dict(details).failed_checks]
    items += [f"check {check.id}: {check.message}".rstrip(": ") for check in VerifyOutput.from_dict(details).failed]
    return items


def run(args: argparse.Namespace) -> int:
    if not args.answers and not args.state_dir:
        sys.stderr.write("give --answers FILE or --state-dir DIR\n")
        return EXIT_USAGE
    answers, state_dir = inspect_target(args.answers, args.state_dir)
    if state_dir is None:
        sys.stderr.write("no install name in the answers file: give --state-dir DIR\n")
        return EXIT_USAGE
    if not (state_dir / "journal.json").exists():
        sys.stderr.write(f"no run recorded in {state_dir}\n")
        return EXIT_FAILED
    warning = register_generated(state_dir)
    if warning:
        sys.stderr.write(warning + "\n")
    order = [s.id for s in build_steps(answers)] if answers is not None else None
    try:
        data = status_data(state_dir, order)
    except JournalError as exc:
        sys.stderr.write(redact.mask(str(exc)) + "\n")
        return EXIT_FAILED
    data["uninstall"] = later_uninstall(state_dir, data.get("last_run"), running=data.get("running") is not None)
    data["not_applied"] = None if data.get("running") else unapplied_upgrade(data.get("last_run"), args.answers,
                                                                             args.state_dir)
    data["release_profile"] = deployed_profile(state_dir)
    if args.output == "json":
        render_status_json(data, sys.stdout)
    else:
        if data["uninstall"] is not None:
            sys.stdout.write(describe_uninstall(data["uninstall"], args.answers) + "\n")
        elif data["not_applied"]:
            sys.stdout.write(f"NOT UPGRADED: {data['not_applied']}\n")
        render_status(data, sys.stdout, failed_items, facts=profile_lines(data["release_profile"]))
    return EXIT_OK


def profile_lines(deployed: dict[str, Any] | None) -> list[str]:
    """What the install runs now, from its newest deploy or upgrade (the answers file names what was asked)."""
    if deployed is None:
        return []
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(deployed.get("finished") or 0))
    line = f"release profile: {deployed['profile']} (applied by the {deployed['by']} step at {when} UTC)"
    if deployed["failed"]:
        line += f"; not applied to {len(deployed['failed'])}: {', '.join(deployed['failed'])}"
    return [line]


def later_uninstall(state_dir: Path, install_run: dict[str, Any] | None, running: bool = False
                    ) -> dict[str, Any] | None:
    """The uninstall run recorded after the install's last run, if any: then the install's table below
    is history (its releases were removed), and status must say so first rather than 'every step succeeded'."""
    folder = state_dir / UNINSTALL_SUBDIR
    if not (folder / "journal.json").exists():
        return None
    try:
        journal = Journal.load(folder, running_is_dead=not running)  # the uninstall holds the install's lock
    except JournalError:
        return None
    if not journal.runs:
        return None
    run = journal.runs[-1]
    if install_run and (run.get("started") or 0) < (install_run.get("started") or 0):
        return None  # installed again after it
    stopped = next((r for r in journal.steps.values() if r.outcome in (FAILED, INTERRUPTED)), None)
    return {"outcome": run.get("outcome"), "started": run.get("started"), "finished": run.get("finished"),
            "stopped_at": stopped.id if stopped else None, "state_dir": str(folder)}


def describe_uninstall(uninstall: dict[str, Any], answers: str | None) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(uninstall.get("finished") or uninstall.get("started") or 0))
    if uninstall["outcome"] == SUCCEEDED:
        return (f"UNINSTALLED at {when} UTC: this install's releases were removed (volumes, claims and the "
                "database kept unless --delete-data was given). The steps below are the install before it.")
    if uninstall["outcome"] == RUNNING:
        return f"an uninstall is running since {when} UTC: watch it with this command again"
    where = f" at step {uninstall['stopped_at']}" if uninstall.get("stopped_at") else ""
    return (f"an uninstall started at {when} UTC {uninstall['outcome']}{where}: some releases may be gone; "
            f"finish it with {install_sh()} uninstall --answers {answers or 'FILE'} --resume")
