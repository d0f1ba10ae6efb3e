"""`install.sh uninstall --answers FILE`: remove what this install deployed, journalled and resumable.

It shows what it will remove (read from the cluster: only releases labelled with this install's
name) and asks, or takes --yes; without a terminal --yes is required. Data stays unless
--delete-data is given together with the install's name, typed at the prompt or as
--confirm-delete-data=NAME. The run is an engine pipeline like an install, with its own journal
in `<state dir>/uninstall/` (so the install's journal still says what was deployed), under the
install's own lock (an install and an uninstall of one install never run at once).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from installer.invocation import install_sh
from installer import redact
from installer.answers import Answers
from installer.app.answers_file import load, state_dir_of
from installer.app.closing import closing_text, write_closing
from installer.app.install import register_secrets
from installer.deploy.uninstall import data, releases, survey, waves_of
from installer.engine import Engine, Step, StepContext
from installer.engine import journal as jr
from installer.engine.faces import FACES, default_face, make_face
from installer.engine.lock import InstallLock, LockHeld
from installer.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

STATE_SUBDIR = "uninstall"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--answers", metavar="FILE", required=True, help="the answers file of the install to remove")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="the install's state directory (default: $XDG_STATE_HOME/digit-installer/<name>)")
    parser.add_argument("--yes", action="store_true", help="do not ask before removing (required without a terminal)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted or failed uninstall")
    parser.add_argument("--dry-run", action="store_true", help="show what would be removed; remove nothing")
    parser.add_argument("--delete-data", action="store_true",
                        help="also delete this install's PersistentVolumeClaims (their data is lost); needs the "
                             "install's name typed at the prompt or --confirm-delete-data=NAME")
    parser.add_argument("--confirm-delete-data", metavar="NAME",
                        help="with --delete-data: the install's name, confirming that its data is destroyed")
    parser.add_argument("--output", choices=FACES, default=None,
                        help="rich (default on a terminal), plain (timestamped lines) or json (one object per line)")


def _install_outputs(state_dir: Path) -> dict[str, Any]:
    """What the install's steps recorded (provision's kubeconfig for sdc-vms and clouds); {} when unreadable."""
    try:
        return jr.Journal.load(state_dir).outputs()
    except (jr.JournalError, OSError):
        return {}


def _steps(state_dir: Path, delete_data: bool) -> list[Step]:
    def provision(ctx: StepContext[Answers]) -> dict[str, Any]:
        """The cluster the install made or used: the install's recorded provision outputs."""
        return dict(_install_outputs(state_dir).get("provision") or {})

    steps = [Step("provision", "Find the install's cluster", provision, always_run=True),
             Step("releases", "Remove this install's Helm releases (reverse dependency order)", releases,
                  needs=("provision",), sections=("name", "target", "release"))]
    if delete_data:
        steps.append(Step("data", "Delete this install's PersistentVolumeClaims", data,
                          needs=("releases",), sections=("name", "target")))
    return steps


def _ask(prompt: str) -> str:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    try:
        return sys.stdin.readline().strip()
    except KeyboardInterrupt:
        return ""


def _data_confirmed(args: argparse.Namespace, answers: Answers, on_terminal: bool) -> bool | None:
    """True/False for --delete-data confirmed or not; None when the name must still be typed."""
    if args.confirm_delete_data is not None:
        return bool(args.confirm_delete_data == answers.name)
    return None if on_terminal else False


def _survey_text(answers: Answers, state_dir: Path, delete_data: bool) -> list[str] | str:
    """What will be removed, or the reason it cannot be read."""
    from installer.deploy.target import open_cluster
    from installer.engine import StepFailed

    ctx: Any = SimpleNamespace(answers=answers, outputs=_install_outputs(state_dir), state_dir=state_dir)
    try:
        cluster = open_cluster(ctx)
    except StepFailed as error:
        return f"{error.message}\n  what to do: {error.remediation}"
    try:
        removal = survey(cluster, answers.name, waves_of(answers))
    except Exception as error:  # the cluster's answer, shown to the operator, not a traceback
        return f"cannot read the cluster: {error}"
    finally:
        cluster.helm.close()
    host = getattr(answers.database, "host", None)  # only an external database has one
    database = f"{answers.database.name} on {host}" if host else ""
    return removal.describe(delete_data, database)


def run(args: argparse.Namespace) -> int:
    answers = load(args.answers)
    if answers is None:
        return EXIT_USAGE
    if args.confirm_delete_data is not None and not args.delete_data:
        sys.stderr.write("--confirm-delete-data goes with --delete-data\n")
        return EXIT_USAGE
    state_dir = state_dir_of(answers, args.state_dir)
    warning = register_secrets(answers, state_dir)
    if warning:
        sys.stderr.write(warning + "\n")
    on_terminal = sys.stdin.isatty() and sys.stderr.isatty()
    delete_data = bool(args.delete_data)
    if delete_data:
        confirmed = _data_confirmed(args, answers, on_terminal)
        if confirmed is False:
            sys.stderr.write(f"refusing --delete-data: it destroys the data of install {answers.name!r}; confirm "
                             f"with --confirm-delete-data={answers.name} (or type the name at the prompt)\n")
            return EXIT_USAGE
    summary = _survey_text(answers, state_dir, delete_data)
    if isinstance(summary, str):
        sys.stderr.write(redact.mask(summary) + "\n")
        return EXIT_FAILED
    sys.stdout.write(redact.mask("\n".join(summary)) + "\n")
    sys.stdout.flush()
    if args.dry_run:
        return EXIT_OK
    if not args.yes:
        if not on_terminal:
            sys.stderr.write("not removing anything without a terminal to ask on: pass --yes\n")
            return EXIT_USAGE
        if _ask(f"Remove these from install {answers.name!r}? [y/N] ").lower() not in ("y", "yes"):
            sys.stderr.write("Not confirmed: nothing was removed.\n")
            return EXIT_FAILED
    if (delete_data and args.confirm_delete_data is None
            and _ask(f"Type the install's name ({answers.name}) to destroy its data: ") != answers.name):
        sys.stderr.write("The name does not match: nothing was removed.\n")
        return EXIT_FAILED
    return _run_pipeline(args, answers, state_dir, delete_data)


def _run_pipeline(args: argparse.Namespace, answers: Answers, state_dir: Path, delete_data: bool) -> int:
    run_dir = state_dir / STATE_SUBDIR
    face_name = args.output or default_face(sys.stdout)
    face = make_face(face_name, sys.stdout)
    engine = Engine(_steps(state_dir, delete_data), answers=answers, state_dir=run_dir, install=answers.name,
                    resume=args.resume, sinks=[face], answers_path=Path(args.answers), command="uninstall")
    previous = engine.install_signal_handlers()
    import signal

    try:
        with InstallLock(state_dir, command="uninstall"):
            run_dir.mkdir(exist_ok=True, mode=0o700)
            result = engine.run()
    except LockHeld as exc:
        sys.stderr.write(redact.mask(f"refusing to start: {exc}\n  wait for it to finish, or watch it with: "
                                     f"{install_sh()} status --answers {args.answers}") + "\n")
        return EXIT_FAILED
    except jr.JournalError as exc:
        sys.stderr.write(redact.mask(f"cannot resume: {exc}") + "\n")
        return EXIT_FAILED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        close = getattr(face, "close", None)
        if close:
            close()
    text = closing_text(run_dir, Path(args.answers), explicit_state_dir=False, command="uninstall",
                        what="uninstall")
    if args.state_dir and "--resume" in text:
        text = text.replace("--resume", f"--state-dir {args.state_dir} --resume")
    write_closing(text, sys.stderr if face_name == "json" else sys.stdout)
    return result.exit_code
