"""`install.sh status`: every step of an install with its outcome, and what broke inside a failed one."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from installer import redact
from installer.app.answers_file import inspect_target
from installer.app.install import register_generated
from installer.app.pipeline import build_steps
from installer.deploy.outputs import ReleasesFailure, VerifyOutput
from installer.engine.journal import JournalError
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
    if args.output == "json":
        render_status_json(data, sys.stdout)
    else:
        render_status(data, sys.stdout, failed_items)
    return EXIT_OK
