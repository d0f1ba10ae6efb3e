#!/usr/bin/env python3
"""Prints how long the command line takes on its light paths (--help, validate, schema).

Run: .venv/bin/python tests/bench/cli_bench.py [--runs N]
"""
import argparse
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def measure(argv: list[str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    example = str(ROOT / "assets" / "examples" / "sdc-vms.yaml")
    cases = {
        "install.sh --help": ["./install.sh", "--help"],
        "install.sh --version": ["./install.sh", "--version"],
        "install.sh validate (sdc-vms example)": ["./install.sh", "validate", example],
        "install.sh schema": ["./install.sh", "schema"],
    }
    print(f"{'command':42} {'median s':>9} {'max s':>9}   ({runs} runs each)")
    for name, argv in cases.items():
        median, worst = measure(argv, runs)
        print(f"{name:42} {median:9.3f} {worst:9.3f}")


if __name__ == "__main__":
    main()
