"""Preflight wall time on 1, 5 and 15 rig nodes: parallel (bounded) against one node after another.

    .venv/bin/python tests/bench/preflight_bench.py [--nodes 1,5,15] [--repeat 2] [--concurrency 10]

Starts its own rigs (tests/rig) in a temporary directory and stops them afterwards.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from installer.answers import load_answers  # noqa: E402
from installer.preflight import run_preflight  # noqa: E402
from tests.rig.rig import Rig  # noqa: E402


def timed(answers, concurrency: int, repeat: int) -> tuple[float, dict]:
    best, summary = float("inf"), {}
    for _ in range(repeat):
        started = time.perf_counter()
        report = run_preflight(answers, concurrency=concurrency)
        best = min(best, time.perf_counter() - started)
        summary = report.summary()
    return best, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="1,5,15", help="comma-separated node counts (default 1,5,15)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per mode; the best is reported (default 2)")
    parser.add_argument("--concurrency", type=int, default=10, help="parallel run's bound (default 10, as the CLI)")
    args = parser.parse_args()
    counts = [int(n) for n in args.nodes.split(",") if n.strip()]
    print(f"{'nodes':>5}  {'parallel (s)':>12}  {'sequential (s)':>14}  {'speed-up':>8}  checks (pass/warn/fail)")
    with tempfile.TemporaryDirectory(prefix="preflight-bench-") as tmp:
        for count in counts:
            rig = Rig.up(Path(tmp) / f"rig{count}", nodes=count, rollout_delay=0)
            try:
                os.environ.update(rig.env)
                answers = load_answers(rig.answers_path)
                run_preflight(answers, only=["k8s.api"])  # warm the client imports once, outside the timings
                parallel, summary = timed(answers, args.concurrency, args.repeat)
                sequential, _ = timed(answers, 1, args.repeat)
            finally:
                rig.down()
            print(f"{count:>5}  {parallel:>12.2f}  {sequential:>14.2f}  {sequential / parallel:>7.1f}x  "
                  f"{summary['pass']}/{summary['warn']}/{summary['fail']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
