#!/usr/bin/env python3
"""Prints how long a plan takes: building it, and rendering every release with Helm's real engine.

    .venv/bin/python tests/bench/plan_bench.py [--runs N] [--digit-charts DIR]

Measures the sample chart tree (tests/fixtures/charts) and, when a DIGIT-DevOps DIGIT-2.9LTS
checkout is given (--digit-charts .../deploy-as-code/charts, or $DIGIT_LTS_CHARTS, or found at
/tmp/digit-devops/deploy-as-code/charts), the full DIGIT 2.9 LTS default module set. Also prints
the whole `./install.sh plan` command (a fresh process, output files included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "tests" / "fixtures" / "charts"
DEFAULT_LTS = Path("/tmp/digit-devops/deploy-as-code/charts")
ANSWERS = """version: 1
name: bench
target: {{kind: existing-cluster, kubeconfig: kubeconfig}}
sizing: {{profile: dev}}
domain: {{fqdn: digit.bench.example.org, tls: {{mode: self-signed}}}}
database: {{mode: in-cluster}}
release: {{version: {version}, charts: {charts}}}
registry: {{mirror: "registry.bench.local:5000"}}
config_repos:
  mdms: {{url: "git@git.bench.local:digit/egov-mdms-data.git", branch: main}}
  configs: {{url: "git@git.bench.local:digit/configs.git", branch: main}}
  ssh_key: {{env: BENCH_GIT_KEY}}
  known_hosts: known_hosts
monitoring: {{enabled: {monitoring}}}
"""


def write_answers(directory: Path, charts: Path, version: str, monitoring: bool) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kubeconfig").write_text("")
    (directory / "known_hosts").write_text("git.bench.local ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench\n")
    if version == "digit-sample":
        (directory / "profiles").symlink_to(ROOT / "tests" / "fixtures" / "profiles")
    path = directory / "answers.yaml"
    path.write_text(ANSWERS.format(version=version, charts=charts, monitoring=str(monitoring).lower()))
    return path


def measure(label: str, answers_path: Path, state: Path, runs: int) -> None:
    from installer.adapters.helm import HelmSdkEngine
    from installer.answers import load_answers
    from installer.plan import build_plan, render_plan
    from installer.secretstore import SecretStore

    answers = load_answers(answers_path)
    builds, renders = [], []
    plan = None
    with HelmSdkEngine() as engine:
        engine.render(SAMPLE / "backbone-services" / "redis", {}, release="warm-up", namespace="x")
        for _ in range(runs):
            start = time.perf_counter()
            plan = build_plan(answers, store=SecretStore(state))
            built = time.perf_counter()
            render_plan(plan, engine)
            builds.append(built - start)
            renders.append(time.perf_counter() - built)
    assert plan is not None
    documents = sum(len(r.documents) for r in plan.rendered.values())
    print(f"{label:34} {len(plan.graph.releases):4d} releases {len(plan.graph.waves):2d} waves {documents:5d} objects"
          f"   build {statistics.median(builds):6.3f} s   render {statistics.median(renders):6.3f} s"
          f"   failures: {', '.join(plan.render_failures) or 'none'}")


def command(label: str, answers_path: Path, state: Path, out: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "installer", "plan", "--answers", str(answers_path), "--out",
                             str(out), "--state-dir", str(state)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    print(f"{label:34} ./install.sh plan (whole command, fresh process): {time.perf_counter() - start:6.3f} s"
          f"   exit {result.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--digit-charts", type=Path,
                        default=Path(os.environ.get("DIGIT_LTS_CHARTS", DEFAULT_LTS)))
    args = parser.parse_args()
    os.environ.setdefault("BENCH_GIT_KEY", "-----BEGIN OPENSSH PRIVATE KEY-----\nbench\n-----END OPENSSH PRIVATE KEY-----")
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as scratch:
        work = Path(scratch)
        cases = [("sample tree (tests/fixtures)", write_answers(work / "sample", SAMPLE, "digit-sample", True))]
        if (args.digit_charts / "common" / "Chart.yaml").is_file():
            cases.append(("DIGIT 2.9 LTS default modules", write_answers(work / "lts", args.digit_charts, "digit-2.9-lts", False)))
        else:
            print(f"no DIGIT-DevOps chart tree at {args.digit_charts}: measuring the sample tree only")
        print(f"median of {args.runs} runs; build = releases, values, secrets, digests; render = Helm's engine")
        for label, answers_path in cases:
            measure(label, answers_path, work / "state", args.runs)
        for label, answers_path in cases:
            command(label, answers_path, work / "state", work / "out" / label.split()[0])


if __name__ == "__main__":
    main()
