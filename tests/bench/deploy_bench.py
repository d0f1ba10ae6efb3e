"""Deploy wall time of the sample chart tree on the rig: dependency-ordered waves vs one release after another.

    .venv/bin/python tests/bench/deploy_bench.py [--delay SECONDS] [--concurrency N]

Starts a rig of its own (1 node), Helm's real engine with sql storage in the rig's PostgreSQL, and
prints: the parallel deploy, the same releases deployed strictly one after another, and a no-op
rerun of the parallel deploy (every release unchanged).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=1.0, help="rollout delay per workload (seconds)")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    from kubernetes import config

    from installer.adapters.helm import HelmSdkEngine, KubeAccess, ReleaseStorage
    from installer.deploy.model import UNCHANGED, DeployReport
    from tests.deploy.conftest import helm_dsn, make_executor, sample_specs
    from tests.rig.rig import Rig

    with tempfile.TemporaryDirectory(prefix="deploy-bench-") as work:
        rig = Rig.up(Path(work) / "rig", nodes=1, rollout_delay=args.delay)
        try:
            rig.set_rollout(delay=args.delay, never_ready=[])
            api = config.new_client_from_config(config_file=str(rig.kubeconfig_path))
            storage = ReleaseStorage("sql", sql_dsn=helm_dsn(rig))
            with HelmSdkEngine(KubeAccess(rig.kubeconfig_path), storage, openapi=False,
                               workers=args.concurrency) as helm:
                rows = []
                specs = sample_specs("par", timeout=120)
                waves = max(s.wave for s in specs) + 1
                started = time.monotonic()
                report = make_executor(helm, api, concurrency=args.concurrency, poll=0.1).run(specs)
                rows.append((f"dependency order, {args.concurrency} Helm calls at once", time.monotonic() - started,
                             report))

                # One release after another: each run alone, in wave order (the executor itself would let
                # every startable release wait for readiness at once, whatever its Helm-call bound).
                serial_specs = sorted(sample_specs("ser", timeout=120), key=lambda s: (s.wave, s.name))
                started = time.monotonic()
                serial = DeployReport()
                for spec in serial_specs:
                    one = make_executor(helm, api, concurrency=1, poll=0.1).run([dataclasses.replace(spec, needs=())])
                    serial.results.update(one.results)
                rows.append(("one release after another", time.monotonic() - started, serial))

                started = time.monotonic()
                noop = make_executor(helm, api, concurrency=args.concurrency, poll=0.1).run(sample_specs("par", timeout=120))
                rows.append(("no-op rerun (identical values)", time.monotonic() - started, noop))
            api.close()
        finally:
            rig.down(quiet=True)

    print(f"sample chart tree: {len(specs)} releases in {waves} dependency levels, rollout delay {args.delay:g} s, "
          f"{os.cpu_count()} cores")
    for label, seconds, result in rows:
        outcome = "ok" if result.ok else "FAILED: " + result.summary_text().replace("\n", "; ")
        print(f"  {label:<40} {seconds:7.2f} s   {outcome}")
    print(f"  speed-up of the parallel deploy: {rows[1][1] / rows[0][1]:.1f}x")
    unchanged = len(rows[2][2].by_outcome(UNCHANGED))
    print(f"  no-op rerun: {unchanged}/{len(specs)} releases unchanged, no Helm upgrade performed")
    return 0 if all(r.ok for _, _, r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
