"""Command line: parses arguments, picks a face, maps outcomes to exit codes.

Exit codes everywhere: 0 success, 1 a check or step failed, 2 invalid input or
usage, 130 interrupted. Subcommands are imported only when chosen, so `--help`
and `validate` never pay for kubernetes, paramiko or Helm.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from installer import __version__
from installer.exitcodes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE
from installer.state import StateDiskFull, UnsafeStateError


# subcommand -> (module, add-arguments function, run function, one-line help)
SUBCOMMANDS = {
    "validate": ("installer.app.validate", "add_arguments", "run", "check an answers file; every problem as FILE:LINE:COL: key: message"),
    "schema": ("installer.app.validate", "add_schema_arguments", "run_schema", "print the JSON Schema of the answers file"),
    "preflight": ("installer.preflight.command", "add_arguments", "run",
                  "check nodes, cluster, database and domain before changing anything"),
    "plan": ("installer.plan.command", "add_arguments", "run",
             "show exactly what would be deployed, offline: releases, order, values, manifests"),
    "upgrade": ("installer.app.upgrade", "add_arguments", "run",
                "upgrade an install to another release profile: plan, check, back up, upgrade in order"),
    "status": ("installer.app.status", "add_arguments", "run", "show every step of an install with its outcome"),
    "bundle": ("installer.bundle.command", "add_arguments", "run", "air-gap bundle: create (connected), verify, push to the site's mirror"),
    "uninstall": ("installer.app.uninstall", "add_arguments", "run", "remove what this install deployed (data kept unless --delete-data)"),
    "support-bundle": ("installer.app.support_bundle", "add_arguments", "run", "collect logs and state for a maintainer, without secrets"),
}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # exit 2 with a short hint, as argparse does, but never 'usage' noise twice
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(with_subcommand: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="install.sh",
        description="Install DIGIT on state data centre VMs, an existing Kubernetes cluster or a cloud. "
        "Without arguments on a terminal: the wizard. With --answers: a headless run of the same pipeline.",
        epilog="Exit codes: 0 success, 1 a check or step failed (or the confirmation was declined), "
               "2 invalid input or usage, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"digit-installer {__version__}")
    run = parser.add_argument_group("installing")
    run.add_argument("--answers", metavar="FILE", help="answers file to install from (headless unless --interactive)")
    run.add_argument("--yes", action="store_true", help="do not ask for confirmation before changing anything")
    run.add_argument("--dry-run", action="store_true", help="report what every step would do; change nothing")
    run.add_argument("--resume", action="store_true", help="continue an interrupted or failed install from where it stopped")
    run.add_argument("--output", choices=("plain", "rich", "json"), help="progress display (default: rich on a terminal, else plain)")
    run.add_argument("--state-dir", metavar="DIR", help="where the journal, logs and generated secrets live")
    wizard = parser.add_argument_group("the wizard")
    wizard.add_argument("--interactive", action="store_true",
                        help="with --answers: open the wizard pre-filled, visiting missing or invalid sections")
    wizard.add_argument("--sections", metavar="NAMES", help="with --interactive: also visit these sections (comma-separated)")
    wizard.add_argument("--plain", action="store_true", help="line-mode questions instead of the full-screen wizard")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, add, _run, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if with_subcommand == name:
            _load(module, add, name)(sub)
    return parser


def _load(module_name: str, attribute: str, command: str) -> Any:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("installer"):
            raise UsageError(f"'{command}' is not available in this build of the installer") from None
        raise
    return getattr(module, attribute)


def _chosen_subcommand(argv: list[str]) -> str | None:
    for arg in argv:
        if arg in SUBCOMMANDS:
            return arg
        if arg == "--":
            return None
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        command = _chosen_subcommand(argv)
        parser = build_parser(command)
        args = parser.parse_args(argv)
        if args.command:
            module, _add, run, _help = SUBCOMMANDS[args.command]
            return int(_load(module, run, args.command)(args))
        if args.answers and not args.interactive:
            if args.sections:
                parser.error("--sections goes with --interactive")
            return int(_load("installer.app.headless", "run", "--answers")(args))
        return run_wizard(args)
    except UsageError as exc:
        print(f"install.sh: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILED
    except UnsafeStateError as exc:  # a state directory or file another user could have planted
        print(f"install.sh: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StateDiskFull as exc:
        print(f"install.sh: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # an installer bug: say where the details are, never dump a traceback on the operator
        return _report_crash(exc)


def _report_crash(exc: BaseException) -> int:
    import tempfile
    import traceback

    from installer import redact

    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "digit-installer"
    try:
        base.mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix="crash-", suffix=".log", dir=base)
        with os.fdopen(fd, "w") as handle:
            handle.write(redact.mask("".join(traceback.format_exception(exc))))
    except OSError:
        path = "(could not be written)"
    print(f"install.sh: internal error: {redact.mask(f'{type(exc).__name__}: {exc}')}\n  details: {path}", file=sys.stderr)
    return EXIT_FAILED


# ---------------------------------------------------------------- the wizard


def run_wizard(args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if not interactive:
        print(
            "install.sh: no terminal to run the wizard on; for a headless install use\n"
            "  ./install.sh --answers answers.yaml\n"
            "(./install.sh --help lists every option)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    plain = args.plain or os.environ.get("TERM", "") in ("", "dumb")
    module = "screens.plain" if plain else "screens.app"
    try:
        face = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("screens"):
            print("install.sh: the wizard is not available in this build; use --answers FILE", file=sys.stderr)
            return EXIT_USAGE
        raise
    return int(face.run(args))
