"""What the installer adds over Terraform's own time when it provisions a cloud.

    .venv/bin/python tests/bench/cloud_bench.py [--rounds 3] [--volumes 14]

Both sides apply the test stack (tests/cloud/stack) on the stand-in cloud provider served from a filesystem
mirror, with the same Terraform binary and environment, each round in a fresh state and a fresh cloud:
- terraform: `init`, `plan -out`, `apply PLAN`, `output -json` run directly, one after the other;
- installer: the `provision` step through the real engine (journal, events, lock), which also copies the
  stack, checks its contract, streams -json events into per-resource progress, reads and validates the
  outputs and writes the kubeconfig.
The overhead is the difference, first apply and no-op rerun alike. No rig is needed: the stand-in's cluster
hands back a kubeconfig file written here, and its database makes no role (no PostgreSQL is named).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from installer.adapters.terraform import default_binary  # noqa: E402
from installer.answers import load_answers  # noqa: E402
from installer.engine import Engine, Step  # noqa: E402
from installer.provision.cloud.inputs import stack_inputs  # noqa: E402
from installer.provision.cloud.step import provision  # noqa: E402
from installer.provision.cloud.workspace import Workspace  # noqa: E402
from installer.profiles import sizing_profile  # noqa: E402
from tests.cloud.standin import build_mirror  # noqa: E402

STACK = REPO / "tests" / "cloud" / "stack"


def answers_file(root: Path, mirror: Path, cloud: Path) -> Path:
    (root / "keys").mkdir(exist_ok=True)
    (root / "keys" / "git").write_text("not used\n")
    path = root / "answers.yaml"
    path.write_text(f"""version: 1
name: bench
target:
  kind: aws
  region: ap-south-1
  credentials: {{access_key_id: {{env: BENCH_KEY_ID}}, secret_access_key: {{env: BENCH_SECRET}}}}
  provider_mirror: {mirror}
  terraform: {{stack: {STACK}, variables: {{standin_dir: {cloud}}}}}
sizing: {{profile: dev}}
domain: {{fqdn: bench.example.org, tls: {{mode: self-signed}}}}
database: {{mode: managed, password: {{env: BENCH_DB_PASSWORD}}}}
release: {{charts: {REPO / 'tests' / 'fixtures' / 'charts'}}}
config_repos:
  mdms: {{url: 'git@example.org:m.git', branch: main}}
  configs: {{url: 'git@example.org:c.git', branch: main}}
  ssh_key: {{file: keys/git}}
monitoring: {{enabled: false}}
""")
    return path


def fresh_cloud(root: Path) -> Path:
    cloud = root / "cloud"
    cloud.mkdir(parents=True)
    kubeconfig = root / "kubeconfig.json"
    kubeconfig.write_text(json.dumps({"clusters": [{"name": "b", "cluster": {"server": "https://127.0.0.1:6443"}}],
                                      "users": [{"name": "b", "user": {"token": "bench-token-0123"}}]}))
    (cloud / "settings.json").write_text(json.dumps({"kubeconfig": str(kubeconfig)}))
    return cloud


def terraform_direct(root: Path, mirror: Path, answers_path: Path) -> tuple[float, float]:
    """init+plan+apply+output run directly; then the same for a no-op rerun. Seconds each."""
    answers = load_answers(answers_path)
    workspace = Workspace(root / "direct")
    workspace.prepare(STACK, "local", mirror)
    inputs = stack_inputs(answers, sizing_profile("dev"), root / "direct-state")
    env = workspace.environment(inputs.environment())
    binary = str(default_binary())

    def run(*argv: str) -> None:
        subprocess.run([binary, *argv], cwd=workspace.workdir, env=env, check=True, capture_output=True, timeout=600)

    def once() -> float:
        t0 = time.perf_counter()
        run("init", "-input=false", "-no-color")
        run("plan", "-input=false", "-no-color", "-json", f"-out={workspace.plan_file}")
        run("apply", "-input=false", "-no-color", "-json", "-auto-approve", str(workspace.plan_file))
        run("output", "-json", "-no-color")
        return time.perf_counter() - t0

    return once(), once()


def through_installer(root: Path, answers_path: Path) -> tuple[float, float, float]:
    """The provision step through the engine; then a no-op rerun. Seconds each, and Terraform's share."""
    answers = load_answers(answers_path)
    step = Step("provision", "Provision the cloud with Terraform", provision, sections=("name", "target"))
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        result = Engine([step], answers=answers, state_dir=root / "state", install="bench").run()
        times.append(time.perf_counter() - t0)
        if result.exit_code != 0:
            raise SystemExit(f"provision failed: {result.message}")
    journal = json.loads((root / "state" / "journal.json").read_text())
    steps = journal["steps"]
    record = steps["provision"] if isinstance(steps, dict) else next(s for s in steps if s["id"] == "provision")
    return times[0], times[1], float(record["outputs"]["terraform_seconds"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.update({"BENCH_KEY_ID": "AKIABENCH0000", "BENCH_SECRET": "bench-secret-value",
                       "BENCH_DB_PASSWORD": "bench-db-password"})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        mirror = build_mirror(Path(tmp) / "mirror")
        for index in range(args.rounds):
            root = Path(tmp) / f"round{index}"
            root.mkdir()
            direct_root, installer_root = root / "d", root / "i"
            direct_root.mkdir()
            installer_root.mkdir()
            direct = terraform_direct(direct_root, mirror,
                                      answers_file(direct_root, mirror, fresh_cloud(direct_root)))
            via = through_installer(installer_root, answers_file(installer_root, mirror,
                                                                 fresh_cloud(installer_root)))
            rows.append((direct, via))
    first_direct = statistics.median(r[0][0] for r in rows)
    rerun_direct = statistics.median(r[0][1] for r in rows)
    first_via = statistics.median(r[1][0] for r in rows)
    rerun_via = statistics.median(r[1][1] for r in rows)
    inside = statistics.median(r[1][2] for r in rows)
    print(f"cloud provisioning, test stack on the stand-in provider, {args.rounds} rounds (median seconds)")
    print(f"{'':28}{'terraform alone':>16}{'installer':>12}{'overhead':>10}")
    print(f"{'first apply (18 resources)':28}{first_direct:16.2f}{first_via:12.2f}{first_via - first_direct:10.2f}")
    print(f"{'no-op rerun':28}{rerun_direct:16.2f}{rerun_via:12.2f}{rerun_via - rerun_direct:10.2f}")
    print(f"Terraform's own commands inside the installer's first run: {inside:.2f}s "
          f"(the rest, {first_via - inside:.2f}s, is the engine, the contract check, copying the stack, "
          "outputs and the kubeconfig)")
    print("A no-op rerun through the installer skips `apply` when the plan is empty; run directly, the sequence "
          "above applies the empty plan. Provider start-up (a Python gRPC server) dominates both columns; the "
          "machine is shared, so read differences under ~1s as noise.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
