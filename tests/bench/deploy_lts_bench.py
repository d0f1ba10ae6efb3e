"""DIGIT 2.9 LTS's release graph deployed on the rig: wall time against the graph's critical path.

    .venv/bin/python tests/bench/deploy_lts_bench.py [--scale 1.0] [--helm-slots 4] [--no-sequential]

The release graph is the installer's own (profiles/releases/digit-2.9-lts.yaml, default modules,
in-cluster database: 37 releases), built by installer.plan.graph over a generated tree of one-workload
stand-in charts, so no DIGIT chart tree is needed. The rig's rollout simulator gives each release a
rollout time in realistic proportion, scaled so the deploy takes under a minute: Elasticsearch and
Kafka slowest, PostgreSQL and MinIO next, the Java services next, the UIs fastest (`--scale`
multiplies them all). Printed:
- the deploy as the installer runs it (Helm's default secret storage, `--helm-slots` Helm workers and
  calls in flight, shared watches), its wall time, the graph's critical path (the longest chain of
  rollout times along `waits_for`) and their ratio (target: within 15%);
- the same graph deployed one release after another;
- the installer's peak memory during the deploy (this process, and with its Helm worker processes);
- with DIGIT_LTS_CHARTS pointing at a DIGIT-DevOps DIGIT-2.9LTS chart tree: the whole
  `./install.sh --answers ... --yes` of the default module set, then its no-op rerun, in seconds.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

# Rollout seconds at scale 1, by release (the rest by kind below): proportions seen on real clusters.
ROLLOUT = {"elasticsearch": 16.0, "elasticsearch-data": 16.0, "kafka-kraft": 14.0, "postgresql": 8.0, "minio": 6.0,
           "kibana": 6.0, "redis": 3.0, "ingress-nginx": 3.0, "cert-manager": 4.0, "playground": 2.0,
           "citizen": 1.5, "digit-ui": 1.5, "employee": 1.5, "configmaps": 0.0}
JAVA_SERVICE = 7.0
STATEFUL = {"elasticsearch", "elasticsearch-data", "kafka-kraft", "postgresql", "minio", "redis"}


def stand_in_tree(root: Path, profile) -> None:
    """A chart per profile release: one Deployment or StatefulSet (none for configmaps) named after it."""
    for spec in profile.releases:
        chart = root / spec.chart
        (chart / "templates").mkdir(parents=True, exist_ok=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {chart.name}\nversion: 0.0.1\n")
        if spec.name == "configmaps":
            (chart / "templates" / "cm.yaml").write_text(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: egov-config}\ndata: {a: b}\n")
            continue
        kind = "StatefulSet" if spec.name in STATEFUL else "Deployment"
        (chart / "templates" / "workload.yaml").write_text(f"""apiVersion: apps/v1
kind: {kind}
metadata:
  name: {{{{ .Release.Name }}}}
  labels: {{app.kubernetes.io/instance: {{{{ .Release.Name }}}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {{{{ .Release.Name }}}}}}}}
  template:
    metadata: {{labels: {{app: {{{{ .Release.Name }}}}, app.kubernetes.io/instance: {{{{ .Release.Name }}}}}}}}
    spec: {{containers: [{{name: main, image: "egovio/{spec.name}:lts"}}]}}
""")


def rollout_seconds(name: str, scale: float) -> float:
    return scale * ROLLOUT.get(name, JAVA_SERVICE)


def critical_path(releases, scale: float) -> tuple[float, list[str]]:
    """The longest chain of rollout times along waits_for, and the chain itself."""
    by_name = {r.name: r for r in releases}
    best: dict[str, tuple[float, list[str]]] = {}

    def finish(name: str) -> tuple[float, list[str]]:
        if name not in best:
            before = max((finish(n) for n in by_name[name].waits_for), default=(0.0, []))
            best[name] = (before[0] + rollout_seconds(name, scale), [*before[1], name])
        return best[name]

    return max(finish(r.name) for r in releases)


class MemoryPeak:
    """Samples the resident memory of this process and of all its descendants (the Helm workers)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.own = self.total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._interval = interval

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _descendants(self, pid: int) -> list[int]:
        found, frontier = [], [pid]
        while frontier:
            parent = frontier.pop()
            try:
                children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            except OSError:
                children = []
            found += [int(c) for c in children]
            frontier += [int(c) for c in children]
        return found

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            own = self._rss(me)
            self.own = max(self.own, own)
            self.total = max(self.total, own + sum(self._rss(p) for p in self._descendants(me)))
            self._stop.wait(self._interval)

    def __enter__(self) -> MemoryPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def lts_install(rig, charts: str) -> tuple[float, float, str]:
    """The whole ./install.sh of the LTS default module set on the rig, then its no-op rerun."""
    text = rig.answers_path.read_text()
    text = re.sub(r"(?m)^  version: .*$", "  version: digit-2.9-lts", text)
    text = re.sub(r"(?m)^  charts: .*$", f"  charts: {charts}", text)
    text = re.sub(r"(?m)^database:\n(?:  .*\n)+", "database:\n  mode: in-cluster\n", text)
    answers = rig.dir / "answers-lts.yaml"
    answers.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_DRIVER")}
    env.update(rig.env, PYTHONPATH=str(REPO))
    argv = [str(REPO / "install.sh"), "--answers", str(answers), "--state-dir", str(rig.dir / "lts-state"),
            "--yes", "--output", "plain"]
    times, notes = [], ""
    for _ in range(2):
        started = time.monotonic()
        done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
        times.append(time.monotonic() - started)
        if done.returncode != 0:
            notes = f"exit {done.returncode}: {(done.stdout + done.stderr)[-400:]}"
    return times[0], times[1], notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every rollout time (default 1)")
    parser.add_argument("--helm-slots", type=int, default=4, help="Helm workers and calls in flight (default 4)")
    parser.add_argument("--no-sequential", action="store_true", help="skip the one-release-after-another run")
    args = parser.parse_args()

    from installer.adapters.helm import HelmSdkEngine, KubeAccess, ReleaseStorage
    from installer.adapters.kube import connect
    from installer.deploy.executor import Executor
    from installer.deploy.helmops import EngineOperations
    from installer.deploy.informers import ObjectCache
    from installer.deploy.model import ReleaseSpec
    from installer.deploy.readiness import ReadinessWatcher
    from installer.plan.graph import build_graph
    from installer.profiles import release_profile
    from tests.rig.rig import Rig

    profile = release_profile("digit-2.9-lts")
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="deploy-lts-bench-") as work:
        tree = Path(work) / "charts"
        stand_in_tree(tree, profile)
        graph = build_graph(profile, tree, list(profile.default_modules), {"in_cluster_database": True, "monitoring": False,
                                                                                      "tracing": False, "jenkins": False})
        releases = graph.releases
        path_seconds, path = critical_path(releases, args.scale)
        delays = {r.name: rollout_seconds(r.name, args.scale) for r in releases}

        rig = Rig.up(Path(work) / "rig", nodes=1, rollout_delay=0)
        try:
            rig.set_rollout(delay=0, never_ready=[], delays=delays)
            cluster = connect(rig.kubeconfig_path)

            def specs(suffix: str, chained: bool = True) -> list[ReleaseSpec]:
                return [ReleaseSpec(name=r.name, namespace=f"{r.namespace}-{suffix}", chart=r.chart, values={},
                                    needs=tuple(r.waits_for) if chained else (), wave=r.wave, timeout=300)
                        for r in releases]

            with HelmSdkEngine(KubeAccess(rig.kubeconfig_path), ReleaseStorage("secret"), openapi=False,
                               workers=args.helm_slots) as helm:
                def executor(cache: ObjectCache) -> Executor:
                    return Executor(EngineOperations(helm), ReadinessWatcher(cluster, poll_interval=1.0, cache=cache),
                                    installer_version="bench", concurrency=args.helm_slots)

                helm.render(releases[0].chart, {}, release="warm", namespace="warm")  # start one worker
                cache = ObjectCache(cluster)
                with MemoryPeak() as memory:
                    started = time.monotonic()
                    report = executor(cache).run(specs("par"))
                    wall = time.monotonic() - started
                cache.close()
                if not report.ok:
                    print("deploy FAILED:", report.summary_text())
                    return 1
                ratio = wall / path_seconds
                rows.append(f"  deploy ({args.helm_slots} Helm slots, shared watches)  {wall:7.1f} s")
                rows.append(f"  critical path of the graph                 {path_seconds:7.1f} s   "
                            f"({' -> '.join(path)})")
                rows.append(f"  deploy / critical path                     {ratio:7.2f}    "
                            f"({'within' if ratio <= 1.15 else 'NOT within'} 15%)")

                started = time.monotonic()
                noop = executor(cache := ObjectCache(cluster)).run(specs("par"))
                rows.append(f"  no-op rerun of the same releases           {time.monotonic() - started:7.1f} s   "
                            f"({len(noop.by_outcome('unchanged'))}/{len(releases)} unchanged)")
                cache.close()

                if not args.no_sequential:
                    order = sorted(specs("seq", chained=False), key=lambda s: (s.wave, s.name))
                    cache = ObjectCache(cluster)
                    started = time.monotonic()
                    for spec in order:
                        one = executor(cache).run([spec])
                        if not one.ok:
                            print("sequential deploy FAILED:", one.summary_text())
                            return 1
                    sequential = time.monotonic() - started
                    cache.close()
                    rows.append(f"  one release after another                  {sequential:7.1f} s   "
                                f"(sum of rollouts {sum(delays.values()):.1f} s; {sequential / wall:.1f}x the deploy)")
                rows.append(f"  installer peak memory: {memory.own / 2**20:.0f} MiB itself, "
                            f"{memory.total / 2**20:.0f} MiB with its {args.helm_slots} Helm workers")
            cluster.close()
            charts = os.environ.get("DIGIT_LTS_CHARTS")
            if charts:
                rig.set_rollout(delay=0.2, delays={})
                first, rerun, notes = lts_install(rig, charts)
                rows.append(f"  DIGIT_LTS_CHARTS: ./install.sh --yes of the LTS default set {first:6.1f} s, "
                            f"no-op rerun {rerun:6.1f} s {notes}")
        finally:
            rig.down(quiet=True)

    print(f"DIGIT 2.9 LTS release graph: {len(releases)} releases, {len(graph.waves)} waves, rollout scale "
          f"{args.scale:g}, {os.cpu_count()} cores, Helm storage: secret")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
