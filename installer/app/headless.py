"""The headless run (`install.sh --answers FILE`): confirm, pick a face, start the install."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from installer import redact
from installer.answers import Answers
from installer.app.answers_file import load, state_dir_of
from installer.app.closing import closing_text, write_closing
from installer.app.install import StepsFor, register_secrets, start_install
from installer.engine.faces import FACES, default_face, make_face
from installer.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from installer.provision.cloud.review import PlanReview


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--answers", metavar="FILE", required=True, help="the answers file describing the installation")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="where the journal, lock and logs live (default: $XDG_STATE_HOME/digit-installer/<name>)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation on a terminal")
    parser.add_argument("--dry-run", action="store_true", help="report what every step would do; change nothing")
    parser.add_argument("--resume", action="store_true",
                        help="skip steps that succeeded with unchanged inputs; rerun from the first failed, "
                             "interrupted or changed step")
    parser.add_argument("--output", choices=FACES, default=None,
                        help="rich (default on a terminal), plain (timestamped lines) or json (one object per line)")


def _confirm(answers: Answers, state_dir: Path) -> bool:
    target = answers.target
    where = getattr(target, "kubeconfig", None) or ", ".join(n.host for n in (getattr(target, "nodes", None) or []))
    sys.stderr.write(f"Install DIGIT '{answers.name}' on {target.kind} {where or ''} (state: {state_dir})? [y/N] ")
    sys.stderr.flush()
    try:
        reply = sys.stdin.readline()
    except KeyboardInterrupt:
        return False
    return reply.strip().lower() in ("y", "yes")


def _review_cloud_plan(answers: Answers, state_dir: Path) -> tuple[bool, PlanReview | None]:
    """For a cloud target on a terminal: Terraform's plan, shown before the question, as `terraform apply`
    shows it. (False, None): stop, nothing changed; (True, review): ask, and pin the review if confirmed;
    (True, None): not a cloud target."""
    from installer.answers.models import CLOUD_KINDS
    from installer.engine import StepFailed
    from installer.provision.cloud.review import plan_review

    if answers.target.kind not in CLOUD_KINDS:
        return True, None
    sys.stderr.write("Planning the cloud resources (terraform init and plan; nothing is created)...\n")
    sys.stderr.flush()
    try:
        review = plan_review(answers, state_dir, on_wait=_warn)
    except StepFailed as exc:
        _warn(f"terraform plan failed: {exc}" + (f"\nwhat to do: {exc.remediation}" if exc.remediation else ""))
        return False, None
    except KeyboardInterrupt:
        return False, None
    marks = {"create": "+", "update": "~", "delete": "-"}
    for change in review.changes:
        _warn(f"  {marks.get(change.action, '-/+')} {change.address} ({change.action})")
    _warn(f"Plan: {review.headline()}." if not review.empty else "Plan: the cloud already matches the stack.")
    if review.machines:
        _warn(review.machines)
    if review.refused:
        _warn("It would destroy or replace " + ", ".join(review.refused) + "; the install stops before applying "
              "unless each is named in target.terraform.allow_destroy. Nothing was changed.")
        return False, None
    return True, review


def _warn(message: str) -> None:
    sys.stderr.write(redact.mask(message) + "\n")


def run(args: argparse.Namespace, steps_for: StepsFor | None = None) -> int:
    """The headless install; steps_for replaces the standard pipeline (tests, tools)."""
    answers = load(args.answers)
    if answers is None:
        return EXIT_USAGE
    state_dir = state_dir_of(answers, getattr(args, "state_dir", None))
    warning = register_secrets(answers, state_dir)  # before the prompt: nothing is printed unmasked
    if warning:
        _warn(warning)
    if not args.yes and not args.dry_run and sys.stdin.isatty() and sys.stderr.isatty():
        go_on, review = _review_cloud_plan(answers, state_dir)
        if not go_on:
            return EXIT_FAILED
        if not _confirm(answers, state_dir):
            # exit 1, not 2: the input was valid, the operator chose not to go on (README: exit codes)
            sys.stderr.write("Not confirmed: nothing was changed. Answer y to install, or pass --yes.\n")
            return EXIT_FAILED
        if review is not None:
            from installer.provision.cloud.review import pin_review
            from installer.provision.cloud.workspace import Workspace

            # the provision step applies this plan only: one with a change not shown above stops it
            pin_review(Workspace.at(state_dir).root, review)
    face_name = args.output or default_face(sys.stdout)
    face = make_face(face_name, sys.stdout)
    try:
        outcome = start_install(answers, state_dir, sinks=[face], resume=args.resume, dry_run=args.dry_run,
                                answers_path=Path(args.answers), steps_for=steps_for, handle_signals=True)
    finally:
        close = getattr(face, "close", None)
        if close:
            close()
    if outcome.refused:
        _warn(outcome.refused)
    elif args.dry_run:
        _warn("dry run: nothing was changed" if outcome.exit_code == EXIT_OK
              else f"dry run stopped; debug log: {outcome.result.log_path if outcome.result else '-'}")
    else:
        # the same closing block after every face; a JSON stream keeps stdout for its events
        text = closing_text(state_dir, Path(args.answers), explicit_state_dir=bool(getattr(args, "state_dir", None)))
        write_closing(text, sys.stderr if face_name == "json" else sys.stdout)
    return outcome.exit_code
