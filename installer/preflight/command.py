"""`install.sh preflight --answers FILE [--json] [--only ID,...] [--skip ID,...]`"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from installer.exitcodes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE


def _ids(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--answers", required=True, metavar="FILE", help="answers file to check the target of")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON document")
    parser.add_argument("--only", metavar="ID,...", help="run only these checks (ids or groups: node, cluster, db, k8s.version)")
    parser.add_argument("--skip", metavar="ID,...", help="skip these checks (ids or groups)")
    from installer.preflight.runner import DEFAULT_CONCURRENCY

    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, metavar="N",
                        help=f"how many nodes and sources are probed at once (default {DEFAULT_CONCURRENCY})")
    parser.add_argument("--report", metavar="FILE", help="also write the JSON report to FILE")
    parser.add_argument("--state-dir", metavar="DIR", help="the install's state directory (its free space is checked)")


def run(args: argparse.Namespace) -> int:
    from installer import redact
    from installer.answers import load_or_report
    from installer.preflight.report import render_table, to_json
    from installer.preflight.runner import PreflightUsageError, run_preflight

    answers = load_or_report(args.answers)
    if answers is None:
        return EXIT_USAGE
    if args.concurrency < 1:
        print("preflight: --concurrency must be 1 or more", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = run_preflight(answers, only=_ids(args.only), skip=_ids(args.skip), concurrency=args.concurrency,
                               state_dir=Path(args.state_dir).expanduser() if args.state_dir else None)
    except PreflightUsageError as exc:
        print(f"preflight: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("preflight: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    document = redact.mask(to_json(report))
    if args.report:
        Path(args.report).write_text(document)
    if args.json:
        sys.stdout.write(document)
    else:
        render_table(report, sys.stdout, color=sys.stdout.isatty())
        for result in report.results:
            if result.id == "node.host_key" and result.status == "fail" and "unknown" in result.message:
                host = result.details.get("host", result.target)
                print(f"to trust {host}, after checking it on the machine: target.ssh.host_keys: "
                      f"{{\"{host}\": \"{result.details.get('fingerprint')}\"}}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED
