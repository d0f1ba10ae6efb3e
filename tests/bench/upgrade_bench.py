#!/usr/bin/env python3
"""Prints how long upgrades take.

    .venv/bin/python tests/bench/upgrade_bench.py [--skip-rig]

1. The upgrade plan's offline part for the DIGIT 2.9 LTS tree between two of its commits, when
   $DIGIT_LTS_CHARTS names the deploy-as-code/charts folder of a DIGIT-DevOps git checkout: the
   older commit is the last-but-one commit that touched the chart tree (or $DIGIT_LTS_FROM). Its
   render stands for what is deployed (Helm's records hold exactly the rendered manifests); the
   figure is build + render of the target + the comparison. Reading Helm's records on a real
   cluster adds one storage read per release.
2. The wall time of `install.sh upgrade --to digit-sample-b` on a rig of its own (the sample tree,
   installed from digit-sample-a first), and of the no-op rerun. Needs root (the rig).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.plan_bench import write_answers  # noqa: E402


def _views(plan, rendered_only: bool = True):
    from installer.deploy import digests
    from installer.upgrade.diff import ReleaseView

    return {r.name: ReleaseView(r.name, r.namespace, chart=str(r.chart_ref),
                                chart_digest=digests.label_value(plan.chart_digests[r.name]),
                                values_digest=digests.label_value(plan.values_digest(r.name)), module=r.module,
                                documents=plan.rendered[r.name].documents)
            for r in plan.graph.releases if not plan.rendered[r.name].error}


def _plan(answers_path: Path, state: Path):
    from installer.adapters.helm import HelmSdkEngine
    from installer.answers import load_answers
    from installer.plan import build_plan, render_plan
    from installer.secretstore import SecretStore

    answers = load_answers(answers_path)
    plan = build_plan(answers, store=SecretStore(state, persist=False), placeholder_secrets=True)
    with HelmSdkEngine() as engine:
        render_plan(plan, engine)
    return plan


def lts_plan(charts: Path) -> None:
    from installer.upgrade.diff import compare

    repo = Path(subprocess.run(["git", "-C", str(charts), "rev-parse", "--show-toplevel"], capture_output=True,
                               text=True, check=True, timeout=30).stdout.strip())
    relative = charts.resolve().relative_to(repo)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()
    older = os.environ.get("DIGIT_LTS_FROM") or subprocess.run(
        ["git", "-C", str(repo), "log", "-n", "2", "--format=%h", "--", str(relative)], capture_output=True,
        text=True, check=True, timeout=30).stdout.split()[-1]
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = Path(tmp) / "old"
        old_tree.mkdir()
        archive = subprocess.run(["git", "-C", str(repo), "archive", older, str(relative)], capture_output=True,
                                 check=True, timeout=300).stdout
        subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive, check=True, timeout=300)
        old_answers = write_answers(Path(tmp) / "a", old_tree / relative, "digit-2.9-lts", False)
        new_answers = write_answers(Path(tmp) / "b", charts, "digit-2.9-lts", False)
        deployed = _views(_plan(old_answers, Path(tmp) / "sa"))
        started = time.perf_counter()
        target = _plan(new_answers, Path(tmp) / "sb")
        rendered = time.perf_counter()
        plan = compare("bench", deployed, _views(target), from_profile=older, to_profile=head)
        done = time.perf_counter()
    print(f"LTS upgrade plan {older} -> {head}: {done - started:6.2f} s (render of the target "
          f"{rendered - started:5.2f} s, comparison {done - rendered:5.3f} s); {len(plan.by_action('upgrade'))} "
          f"upgraded, {len(plan.by_action('add'))} added, {len(plan.by_action('remove'))} removed, "
          f"{sum(len(r.images) for r in plan.releases)} image changes")


def sample_upgrade() -> None:
    from tests.deploy.conftest import helm_dsn
    from tests.rig.rig import Rig
    from tests.upgrade.test_upgrade import PROFILES

    with tempfile.TemporaryDirectory(prefix="upgrade-bench-") as tmp:
        rig = Rig.up(Path(tmp) / "rig", nodes=1, rollout_delay=0.2)
        try:
            text = rig.answers_path.read_text()
            version = next(line.split(":", 1)[1].strip() for line in text.splitlines()
                           if line.startswith("  version: "))
            rig.answers_path.write_text(text.replace(f"  version: {version}", "  version: digit-sample-a"))
            env = {**os.environ, "HELM_DRIVER": "sql", "HELM_DRIVER_SQL_CONNECTION_STRING": helm_dsn(rig),
                   **rig.env, "DIGIT_INSTALLER_READINESS_POLL": "0.2", "PYTHONPATH": str(ROOT),
                   "DIGIT_INSTALLER_PROFILE_PATH": str(PROFILES)}
            state = Path(tmp) / "state"
            common = ["--answers", str(rig.answers_path), "--state-dir", str(state), "--output", "json"]
            subprocess.run([sys.executable, "-m", "tests.deploy.pipeline_driver", *common], cwd=ROOT, env=env,
                           check=True, capture_output=True, timeout=600)
            figures = []
            for label, extra in (("plan", ["--plan"]), ("upgrade", []), ("no-op rerun", [])):
                started = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "installer", "upgrade", *common, "--yes", "--to",
                                       "digit-sample-b", *extra], cwd=ROOT, env=env, capture_output=True, timeout=600)
                figures.append(f"{label} {time.perf_counter() - started:5.1f} s (exit {done.returncode})")
            print("sample tree digit-sample-a -> digit-sample-b on the rig: " + ", ".join(figures))
        finally:
            rig.down(quiet=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-rig", action="store_true", help="only the offline LTS figure")
    args = parser.parse_args()
    charts = os.environ.get("DIGIT_LTS_CHARTS")
    if charts and Path(charts).is_dir():
        lts_plan(Path(charts))
    else:
        print("LTS upgrade plan: skipped, DIGIT_LTS_CHARTS is not set to a DIGIT-DevOps deploy-as-code/charts "
              "checkout")
    if not args.skip_rig:
        sample_upgrade()
    return 0


if __name__ == "__main__":
    sys.exit(main())
