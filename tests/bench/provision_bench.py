"""Provisioning wall time on 1, 5 and 20 bare rig nodes: in parallel against the same nodes one after another.

    .venv/bin/python tests/bench/provision_bench.py [--nodes 1,5,20] [--images-mb 8]

Each measurement starts fresh bare nodes (tests/rig --bare) and runs the provision step alone through the
engine: verify the artifacts, copy them over SFTP, run install.sh, write config.yaml, start RKE2 in the
required order and wait for every Node to be Ready. "one after another" sets
DIGIT_INSTALLER_PROVISION_CONCURRENCY=1 and target.rke2.agent_batch 1. The rig's stand-ins decide the
absolute times (an RKE2 start costs the stand-in's Python start-up and certificate generation, not a
real kubelet's); the ratio is what the parallel design is judged on. Servers still join one at a time
in both modes, as RKE2's HA guide requires.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from installer.answers import load_answers
from installer.app.pipeline import build_steps
from installer.engine import Engine
from installer.provision.step import CONCURRENCY_ENV
from tests.rig.rig import Rig


def measure(root: Path, nodes: int, sequential: bool, images_mb: float) -> float:
    rig = Rig.up(root / f"rig-{nodes}-{'seq' if sequential else 'par'}", nodes=nodes, bare=True, images_mb=images_mb)
    try:
        text = rig.answers_path.read_text()
        if sequential:
            text = text.replace("  rke2:\n", "  rke2:\n    agent_batch: 1\n")
        rig.answers_path.write_text(text)
        answers = load_answers(rig.answers_path)
        steps = [s for s in build_steps(answers) if s.id == "provision"]
        steps = [type(steps[0])(**{**steps[0].__dict__, "needs": ()})]
        os.environ[CONCURRENCY_ENV] = "1" if sequential else "16"
        started = time.perf_counter()
        result = Engine(steps, answers=answers, state_dir=root / f"state-{nodes}-{sequential}",
                        install=answers.name).run()
        elapsed = time.perf_counter() - started
        if result.exit_code != 0:
            raise SystemExit(f"provisioning {nodes} nodes failed: {result.message}")
        return elapsed
    finally:
        rig.down(quiet=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="1,5,20", help="comma-separated node counts (default 1,5,20)")
    parser.add_argument("--images-mb", type=float, default=8.0, help="size of the stand-in images archive")
    args = parser.parse_args()
    counts = [int(n) for n in args.nodes.split(",") if n.strip()]
    print(f"{'nodes':>5}  {'parallel (s)':>12}  {'one after another (s)':>21}  {'speed-up':>8}")
    with tempfile.TemporaryDirectory(prefix="provision-bench-") as tmp:
        for count in counts:
            parallel = measure(Path(tmp), count, False, args.images_mb)
            sequential = measure(Path(tmp), count, True, args.images_mb)
            print(f"{count:>5}  {parallel:>12.1f}  {sequential:>21.1f}  {sequential / parallel:>7.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
