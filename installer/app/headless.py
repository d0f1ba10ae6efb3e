"""The headless run (`install.sh --answers FILE`), `status` and `support-bundle`."""
from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

from installer import redact
from installer.engine.faces import FACES, default_face, make_face
from installer.engine.runner import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK

EXIT_USAGE = 2


def _add_common(parser: argparse.ArgumentParser, answers_required: bool) -> None:
    parser.add_argument("--answers", metavar="FILE", required=answers_required,
                        help="the answers file describing the installation")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="where the journal, lock and logs live (default: $XDG_STATE_HOME/digit-installer/<name>)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _add_common(parser, answers_required=True)
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation on a terminal")
    parser.add_argument("--dry-run", action="store_true", help="report what every step would do; change nothing")
    parser.add_argument("--resume", action="store_true",
                        help="skip steps that succeeded with unchanged inputs; rerun from the first failed, "
                             "interrupted or changed step")
    parser.add_argument("--output", choices=FACES, default=None,
                        help="rich (default on a terminal), plain (timestamped lines) or json (one object per line)")


def load(path: str) -> tuple[Any, int]:
    """Answers or the usage exit code, with every problem printed as FILE:LINE:COL: key: message."""
    from installer.answers import load_or_report

    answers = load_or_report(Path(path))
    return (answers, EXIT_OK) if answers is not None else (None, EXIT_USAGE)


def _state_dir(args: argparse.Namespace, answers: Any) -> Path:
    from installer.state import state_dir_for

    return state_dir_for(getattr(answers, "name", None), getattr(args, "state_dir", None))


def register_generated(state_dir: Path) -> None:
    """Generated secrets kept in the state dir are masked from the first line of output too."""
    try:
        from installer.secretstore import SecretStore

        SecretStore(state_dir).load()
    except Exception as exc:  # an unreadable store is the configure step's to report
        sys.stderr.write(redact.mask(f"warning: generated secrets not loaded for masking: {exc}") + "\n")


def _confirm(answers: Any, state_dir: Path) -> bool:
    target = answers.target
    where = getattr(target, "kubeconfig", None) or ", ".join(n.host for n in (getattr(target, "nodes", None) or []))
    sys.stderr.write(f"Install DIGIT '{answers.name}' on {target.kind} {where or ''} (state: {state_dir})? [y/N] ")
    sys.stderr.flush()
    try:
        reply = sys.stdin.readline()
    except KeyboardInterrupt:
        return False
    return reply.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace, build_steps: Callable[[Any], list] | None = None) -> int:
    """The headless install; build_steps replaces the standard pipeline (tests, tools)."""
    from installer.engine.journal import JournalError
    from installer.engine.lock import LockHeld
    from installer.engine.runner import Engine
    from installer.state import UnsafeStateError
    from installer.pipeline import build_steps as standard_steps, register_secrets

    answers, code = load(args.answers)
    if answers is None:
        return code
    register_secrets(answers)
    state_dir = _state_dir(args, answers)
    register_generated(state_dir)
    if not args.yes and not args.dry_run and sys.stdin.isatty() and sys.stderr.isatty():
        if not _confirm(answers, state_dir):
            sys.stderr.write("not confirmed; nothing was changed\n")
            return EXIT_USAGE
    face = make_face(args.output or default_face(sys.stdout), sys.stdout)
    steps = (build_steps or standard_steps)(answers)
    engine = Engine(steps, answers=answers, state_dir=state_dir, install=answers.name, dry_run=args.dry_run,
                    resume=args.resume, sinks=[face], answers_path=Path(args.answers), command="install")
    previous = engine.install_signal_handlers()
    try:
        result = engine.run()
    except LockHeld as exc:
        sys.stderr.write(redact.mask(f"refusing to start: {exc}") + "\n")
        return EXIT_FAILED
    except UnsafeStateError as exc:
        sys.stderr.write(redact.mask(f"refusing to start: {exc}") + "\n")
        return EXIT_USAGE
    except JournalError as exc:
        sys.stderr.write(redact.mask(f"cannot resume: {exc}") + "\n")
        return EXIT_FAILED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        close = getattr(face, "close", None)
        if close:
            close()
    if result.exit_code != EXIT_OK:
        sys.stderr.write(redact.mask(f"debug log: {result.log_path}") + "\n")
    return result.exit_code


# ---------------------------------------------------------------- status

def add_status_arguments(parser: argparse.ArgumentParser) -> None:
    _add_common(parser, answers_required=False)
    parser.add_argument("--output", choices=("plain", "json"), default="plain",
                        help="a table (default) or one JSON object")


def _resolve_state(args: argparse.Namespace) -> tuple[Any, Path | None, int]:
    answers = None
    if args.answers:
        answers, code = load(args.answers)
        if answers is None:
            return None, None, code
    elif not args.state_dir:
        sys.stderr.write("give --answers FILE or --state-dir DIR\n")
        return None, None, EXIT_USAGE
    return answers, _state_dir(args, answers), EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    from installer.engine.status import render_status, render_status_json, status_data

    answers, state_dir, code = _resolve_state(args)
    if state_dir is None:
        return code
    if not (state_dir / "journal.json").exists():
        sys.stderr.write(f"no run recorded in {state_dir}\n")
        return EXIT_FAILED
    register_generated(state_dir)
    order = None
    if answers is not None:
        from installer.pipeline import build_steps

        order = [s.id for s in build_steps(answers)]
    from installer.engine.journal import JournalError

    try:
        data = status_data(state_dir, order)
    except JournalError as exc:
        sys.stderr.write(redact.mask(str(exc)) + "\n")
        return EXIT_FAILED
    (render_status_json if args.output == "json" else render_status)(data, sys.stdout)
    return EXIT_OK


# ---------------------------------------------------------------- support bundle

def add_bundle_arguments(parser: argparse.ArgumentParser) -> None:
    _add_common(parser, answers_required=False)
    parser.add_argument("-o", "--output", metavar="FILE", help="bundle path (default: ./digit-support-<name>-<time>.tar.gz)")
    parser.add_argument("--no-cluster", action="store_true", help="do not contact the cluster")


def run_bundle(args: argparse.Namespace) -> int:
    from installer.engine.bundle import write_bundle
    from installer.pipeline import register_secrets

    answers, state_dir, code = _resolve_state(args)
    if state_dir is None:
        return code
    if answers is not None:
        register_secrets(answers)
    if not state_dir.is_dir():
        sys.stderr.write(f"no state directory at {state_dir}\n")
        return EXIT_FAILED
    register_generated(state_dir)
    name = getattr(answers, "name", None) or state_dir.name
    output = Path(args.output or f"digit-support-{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.tar.gz")
    manifest = write_bundle(state_dir, output, answers=answers, with_cluster=not args.no_cluster)
    sys.stdout.write(redact.mask(f"support bundle: {output} ({len(manifest['files'])} files)") + "\n")
    for note in manifest["notes"]:
        sys.stdout.write(redact.mask(f"  note: {note}") + "\n")
    return EXIT_OK


def main(argv: list[str] | None = None, build_steps: Callable[[Any], list] | None = None) -> int:
    """Stand-alone entry for the headless run (the CLI normally dispatches to run())."""
    parser = argparse.ArgumentParser(prog="digit-installer")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args, build_steps=build_steps)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
