"""`install.sh validate FILE` and `install.sh schema`: the answers file checked, and its contract."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any
from collections.abc import Iterable

from installer.answers import Answers, AnswersError, Problem, file_warnings, json_schema, load_tree, validate_data
from installer.exitcodes import EXIT_OK, EXIT_USAGE


def print_problems(problems: Iterable[Problem], stream: IO[str] | None = None) -> None:
    for problem in problems:
        print(problem, file=stream or sys.stderr)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="answers file")
    parser.add_argument("--strict", action="store_true",
                        help="treat warnings (referenced files that do not exist, secrets others can read) as errors")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing when the file is valid")


def run(args: argparse.Namespace) -> int:
    path = Path(args.file).expanduser()
    try:
        tree, data = load_tree(path)
        answers = validate_data(data, filename=str(path), base_dir=path.resolve().parent, tree=tree)
    except AnswersError as exc:
        print_problems(exc.problems)
        return EXIT_USAGE
    warnings = (file_warnings(answers.bind(path.resolve()), str(path), tree) + release_warnings(answers, str(path), tree)
                + stack_problems(answers, str(path), tree) + spot_checks(answers, str(path), tree))
    if any(w.severity == "error" for w in warnings):
        print_problems(warnings)
        return EXIT_USAGE
    if args.strict and warnings:
        print_problems([type(w)(w.file, w.line, w.col, w.key_path, w.message) for w in warnings])
        return EXIT_USAGE
    print_problems(warnings)
    if not args.quiet:
        print(f"{path}: valid ({answers.target.kind}, sizing {answers.sizing.profile}, release {answers.release.version})")
    return EXIT_OK


def spot_checks(answers: Answers, filename: str, tree: Any) -> list[Problem]:
    """Keys that are not private keys, a TLS key not of its certificate, a context not in the kubeconfig
    (errors); variables not set (warnings: they may be exported only for the install)."""
    from installer.answers import locate
    from installer.answers.spot import spot_problems

    problems = []
    for key_path, message, severity in spot_problems(answers):
        line, col, _ = locate(tree, tuple(key_path.split(".")))
        problems.append(Problem(filename, line, col, key_path, message, severity))
    return problems


def release_warnings(answers: Answers, filename: str, tree: Any) -> list[Problem]:
    """A release profile the chart tree cannot serve: found here, not after the database step."""
    from installer.answers import locate
    from installer.plan.graph import release_tree_problem

    if not Path(answers.release.charts).exists():
        return []  # said already: the folder does not exist
    problem = release_tree_problem(answers)
    if problem is None:
        return []
    line, col, _ = locate(tree, ("release", "charts"))
    return [Problem(filename, line, col, "release.charts", problem, "warning")]


def stack_problems(answers: Answers, filename: str, tree: Any) -> list[Problem]:
    """A cloud target's Terraform stack (the installer's or the site's own) checked against the stack contract."""
    from installer.answers import locate
    from installer.provision.cloud.contract import check_stack
    from installer.provision.cloud.workspace import stack_folder

    target = answers.target
    if target.kind not in ("aws", "azure", "gcp", "openstack"):
        return []
    folder = stack_folder(answers)
    if target.terraform.stack is not None and not folder.exists():
        return []  # said already: the folder does not exist
    key = ("target", "terraform", "stack") if target.terraform.stack is not None else ("target", "kind")
    line, col, _ = locate(tree, key)
    return [Problem(filename, line, col, ".".join(key), f"the Terraform stack breaks the contract: {problem}")
            for problem in check_stack(folder, target.kind, set(target.terraform.variables))]


def add_schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")


def run_schema(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK
