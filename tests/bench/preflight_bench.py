"""Preflight wall time on rig nodes: bounded parallel against one node after another, and over long links.

    .venv/bin/python tests/bench/preflight_bench.py [--nodes 1,5,15] [--repeat 2] [--concurrency 10]
        [--delayed-nodes 1,15,50] [--link-delay-ms 30] [--only local|delayed]

Local: nodes that share this machine's cores, parallel (bounded) against sequential.
Delayed: every node's SSH behind a proxy that delays each forwarded chunk by --link-delay-ms in each
direction (tests/rig/delay_proxy.py; `tc netem` is not available on these kernels), as a state data
centre's links would; prints the wall time, its ratio to one node, and the installer's own CPU time
(user + system, this process and its children) per node.
Starts its own rigs (tests/rig) in a temporary directory and stops them afterwards.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from installer.answers import load_answers
from installer.preflight import run_preflight
from installer.preflight.runner import DEFAULT_CONCURRENCY
from tests.rig.rig import Rig


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rig_cpu_seconds(rig: Rig | None) -> float:
    """CPU the rig's side used: every node's sshd with its finished sessions (the facts scripts), and the proxy."""
    if rig is None:
        return 0.0
    pids = [rig.dir / "nodes" / node.name / "sshd.pid" for node in rig.nodes] + [rig.dir / "delay-proxy.pid"]
    total = 0.0
    for pidfile in pids:
        try:
            fields = Path(f"/proc/{pidfile.read_text().strip()}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
        total += sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
    return total


def timed(answers, concurrency: int, repeat: int, rig: Rig | None = None) -> tuple[float, float, dict, float]:
    """Best wall time over `repeat` runs, the installer's CPU time of that run, its check summary, the rig's CPU."""
    best, best_cpu, summary, best_rig = float("inf"), 0.0, {}, 0.0
    for _ in range(repeat):
        cpu, rig_cpu, started = cpu_seconds(), rig_cpu_seconds(rig), time.perf_counter()
        report = run_preflight(answers, concurrency=concurrency)
        wall, used, rig_used = time.perf_counter() - started, cpu_seconds() - cpu, rig_cpu_seconds(rig) - rig_cpu
        if wall < best:
            best, best_cpu, best_rig = wall, used, rig_used
        summary = report.summary()
    return best, best_cpu, summary, best_rig


def prepared(rig: Rig):
    os.environ.update(rig.env)
    answers = load_answers(rig.answers_path)
    run_preflight(answers)  # warm imports and connections' one-time costs once, outside the timings
    return answers


def local(counts: list[int], args: argparse.Namespace, tmp: Path) -> None:
    print(f"{'nodes':>5}  {'parallel (s)':>12}  {'sequential (s)':>14}  {'speed-up':>8}  checks (pass/warn/fail)")
    for count in counts:
        rig = Rig.up(tmp / f"rig{count}", nodes=count, rollout_delay=0)
        try:
            answers = prepared(rig)
            parallel, _, summary, _ = timed(answers, args.concurrency, args.repeat)
            sequential, _, _, _ = timed(answers, 1, args.repeat)
        finally:
            rig.down()
        print(f"{count:>5}  {parallel:>12.2f}  {sequential:>14.2f}  {sequential / parallel:>7.1f}x  "
              f"{summary['pass']}/{summary['warn']}/{summary['fail']}", flush=True)


def delayed(counts: list[int], args: argparse.Namespace, tmp: Path) -> None:
    print(f"\nSSH links delayed {args.link_delay_ms:g} ms each way (delaying proxy per node), "
          f"concurrency {args.concurrency}")
    print(f"{'nodes':>5}  {'wall (s)':>8}  {'vs 1 node':>9}  {'CPU (s)':>7}  {'CPU/node (s)':>12}  "
          f"{'rig CPU (s)':>11}  checks (pass/warn/fail)")
    one = None
    for count in counts:
        rig = Rig.up(tmp / f"delayed{count}", nodes=count, rollout_delay=0, link_delay_ms=args.link_delay_ms)
        try:
            answers = prepared(rig)
            wall, cpu, summary, rig_cpu = timed(answers, args.concurrency, args.repeat, rig)
        finally:
            rig.down()
        one = one or wall
        print(f"{count:>5}  {wall:>8.2f}  {wall / one:>8.2f}x  {cpu:>7.2f}  {cpu / count:>12.3f}  {rig_cpu:>11.2f}  "
              f"{summary['pass']}/{summary['warn']}/{summary['fail']}", flush=True)
    print(f"(CPU: the installer process and its children. rig CPU: the nodes' sshd and their sessions plus the "
          f"proxy, all on this machine's {os.cpu_count()} cores, which a real data centre's nodes would not share)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="1,5,15", help="local run's node counts (default 1,5,15)")
    parser.add_argument("--delayed-nodes", default="1,15,50", help="delayed run's node counts (default 1,15,50)")
    parser.add_argument("--link-delay-ms", type=float, default=30.0, help="delay each way (default 30)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per mode; the best is reported (default 2)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help=f"parallel run's bound (default {DEFAULT_CONCURRENCY}, as the CLI)")
    parser.add_argument("--only", choices=("local", "delayed"), help="run one table only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="preflight-bench-") as tmp:
        if args.only != "delayed":
            local([int(n) for n in args.nodes.split(",") if n.strip()], args, Path(tmp))
        if args.only != "local":
            delayed([int(n) for n in args.delayed_nodes.split(",") if n.strip()], args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
