#!/usr/bin/env python3
"""Prints the air-gap bundle's figures: create, verify throughput, push throughput, a no-op push.

    .venv/bin/python tests/bench/bundle_bench.py [--large-mb 256] [--concurrency 4]

Real parts (run as root): Debian's docker-registry twice on loopback, an "upstream" filled with
the sample chart tree's images (tests/rig/registry.py; one of them carries a --large-mb layer of
random bytes) and a TLS + htpasswd mirror. Each command runs as the operator runs it, in a fresh
`python -m installer` process, so start-up is included. The mirror writes to the same disk the
bundle is read from: the push figure is a floor for a real site (separate disks, a real network).
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.rig import registry as rig_registry  # noqa: E402

ANSWERS = """version: 1
name: bundle-bench
target: {{kind: existing-cluster, kubeconfig: kubeconfig}}
sizing: {{profile: dev}}
domain: {{fqdn: digit.bench.example.org, tls: {{mode: self-signed}}}}
database: {{mode: in-cluster}}
release: {{version: digit-sample, charts: {charts}}}
registry: {{mirror: "{mirror}", username: digit, password: {{env: BENCH_REGISTRY_PASSWORD}}, ca_cert: {ca}}}
config_repos:
  mdms: {{url: "git@git.bench.local:digit/egov-mdms-data.git", branch: main}}
  configs: {{url: "git@git.bench.local:digit/configs.git", branch: main}}
  ssh_key: {{file: gitkey}}
monitoring: {{enabled: true, tracing: true}}
ci: {{jenkins: true}}
"""


def run(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "installer", *args], cwd=ROOT, capture_output=True, text=True,
                            env=env, timeout=3600)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return elapsed, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large-mb", type=int, default=256, help="size of the one large layer (MiB)")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bundle-bench-") as scratch:
        work = Path(scratch)
        upstream = rig_registry.start(work / "upstream")
        password = secrets.token_urlsafe(18)
        mirror = rig_registry.start(work / "mirror", tls=True, user="digit", password=password)
        try:
            started = time.monotonic()
            rig_registry.fill(upstream, rig_registry.SAMPLE_IMAGES,
                              large={rig_registry.LARGE_IMAGE: args.large_mb << 20})
            print(f"upstream filled with {len(rig_registry.SAMPLE_IMAGES)} images in {time.monotonic() - started:.1f}s")
            (work / "kubeconfig").write_text("")
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / "gitkey")], check=True)
            answers = work / "answers.yaml"
            answers.write_text(ANSWERS.format(charts=ROOT / "tests/fixtures/charts", mirror=mirror.address,
                                              ca=mirror.ca_path))
            env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_REGISTRY_PASSWORD": password,
                   "XDG_STATE_HOME": str(work / "state"),
                   "DIGIT_INSTALLER_PROFILE_PATH": str(ROOT / "tests/fixtures/profiles")}
            bundle = work / "bundle"
            seconds, out = run(env, "bundle", "create", "--answers", str(answers), "--out", str(bundle),
                               "--source-registry", upstream.url, "--no-wheelhouse")
            size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
            print(f"create (render 21 releases, fetch, hash; no wheelhouse): {seconds:.2f}s for "
                  f"{size / 1048576:.0f} MiB ({out.strip().splitlines()[-2]})")
            seconds, out = run(env, "bundle", "verify", str(bundle))
            rate = re.search(r"at (\d+) MiB/s", out)
            print(f"verify: {seconds:.2f}s for the command, hashing at {rate.group(1) if rate else '?'} MiB/s "
                  f"({size / 1048576 / seconds:.0f} MiB/s including start-up)")
            seconds, out = run(env, "bundle", "push", str(bundle), "--answers", str(answers),
                               "--concurrency", str(args.concurrency))
            sent = int(re.search(r"(\d+) bytes sent", out).group(1))
            inner = float(re.search(r"in ([\d.]+)s$", out.strip()).group(1))
            print(f"push to an empty TLS + htpasswd mirror: {sent / 1048576:.0f} MiB in {inner:.2f}s = "
                  f"{sent / 1048576 / inner:.0f} MiB/s ({seconds:.2f}s for the command, verification remembered)")
            seconds, out = run(env, "bundle", "push", str(bundle), "--answers", str(answers))
            sent = int(re.search(r"(\d+) bytes sent", out).group(1))
            print(f"second, no-op push: {seconds:.2f}s for the command, {sent} bytes sent")
        finally:
            rig_registry.stop(work / "upstream")
            rig_registry.stop(work / "mirror")
    return 0


if __name__ == "__main__":
    sys.exit(main())
