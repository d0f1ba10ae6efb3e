"""The wave executor on the rig: Helm's real engine, the emulator, the rollout simulator."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from installer.deploy import digests
from installer.deploy.executor import Executor, PlanError, check_graph, dependents_of
from installer.deploy.helmops import EngineOperations
from installer.deploy.model import DEPLOYED, FAILED, SKIPPED, UNCHANGED, ReleaseSpec
from tests.deploy.conftest import REPO, Recorder, make_executor, sample_specs, unique_suffix

import pytest

CORE_CHAIN = ("egov-enc-service", "egov-user", "egov-hrms")


def max_overlap(results) -> int:
    """The most releases that were between start and ready at one instant."""
    edges = sorted([(r.started_at, 1) for r in results] + [(r.ready_at, -1) for r in results])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_graph_errors_name_the_culprit() -> None:
    a = ReleaseSpec("a", "ns", REPO, {}, needs=("b",))
    b = ReleaseSpec("b", "ns", REPO, {}, needs=("a",))
    with pytest.raises(PlanError, match="cycle among: a, b"):
        check_graph([a, b])
    with pytest.raises(PlanError, match="a needs b, which is not in the plan"):
        check_graph([a])
    c = ReleaseSpec("c", "ns", REPO, {}, needs=("a",))
    d = ReleaseSpec("d", "ns", REPO, {}, needs=("c",))
    assert dependents_of([ReleaseSpec("a", "ns", REPO, {}), c, d], "a") == {"c", "d"}


class _SlowHelm:
    """HelmOperations stand-in that records how many calls overlap (no cluster: the bound is the executor's)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0
        self.applied: list[str] = []

    def _call(self, seconds: float) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(seconds)
        with self.lock:
            self.in_flight -= 1

    def current(self, name: str, namespace: str) -> None:
        self._call(0.01)

    def apply(self, spec, labels, install):
        self.applied.append(spec.name)
        self._call(0.05)
        return 1, ""

    def manifest(self, name: str, namespace: str) -> str:
        return ""


class _SlowWatcher:
    def wait(self, refs, *, timeout, on_progress=None, cancelled=None):
        time.sleep(0.3)
        return []


def test_helm_calls_are_bounded_and_readiness_waits_are_not() -> None:
    helm = _SlowHelm()
    specs = [ReleaseSpec(f"r{i}", "ns", REPO, {}, chart_digest="sha256:x", values_digest="sha256:y")
             for i in range(12)]
    report = Executor(helm, _SlowWatcher(), installer_version="test", concurrency=3).run(specs)
    assert report.ok and report.by_outcome(DEPLOYED) == sorted(s.name for s in specs)
    assert helm.peak == 3  # never more Helm calls than the bound, and the bound was used
    assert max_overlap(report.results.values()) == 12  # every release waited for readiness at once


def test_the_head_of_the_longest_chain_gets_the_first_helm_slot() -> None:
    helm = _SlowHelm()
    leaves = [ReleaseSpec(f"leaf{i}", "ns", REPO, {}, chart_digest="x", values_digest="y") for i in range(6)]
    chain = [ReleaseSpec("zz-head", "ns", REPO, {}, chart_digest="x", values_digest="y"),
             ReleaseSpec("mid", "ns", REPO, {}, needs=("zz-head",), chart_digest="x", values_digest="y"),
             ReleaseSpec("tail", "ns", REPO, {}, needs=("mid",), chart_digest="x", values_digest="y")]
    report = Executor(helm, _SlowWatcher(), installer_version="test", concurrency=1).run(leaves + chain)
    assert report.ok
    # All seven were startable at once and sorted after the leaves by name; the chain's head still went first.
    assert helm.applied[0] == "zz-head", helm.applied


def test_full_deploy_runs_in_dependency_order_with_progress(rollout, helm, api) -> None:
    rollout.set_rollout(delay=0.4)
    specs = sample_specs(unique_suffix())
    recorder = Recorder()
    report = make_executor(helm, api, recorder).run(specs)

    assert report.by_outcome(DEPLOYED) == sorted(s.name for s in specs), json.dumps(report.to_dict(), indent=1)
    results = report.results
    for spec in specs:
        for need in spec.needs:
            # A release starts only after everything it needs is ready.
            assert results[spec.name].started_at >= results[need].ready_at, (spec.name, need)
        progress = recorder.of(spec.name, "progress")
        assert progress, f"no progress events for {spec.name}"
        assert recorder.of(spec.name, "ready")
        if spec.name == "configmaps":  # no workloads: nothing to wait for
            assert progress[-1].desired == 0
            continue
        assert progress[-1].ready == progress[-1].desired >= 1
        # The rollout delay is visible: the first observation was not ready yet.
        assert progress[0].ready < progress[0].desired, spec.name
    # Independent releases waited for readiness at the same time: the bound is on Helm calls, not on
    # releases (the sample's second level has more releases than the executor's 4 Helm slots).
    assert max_overlap(results.values()) > 4
    # Helm's storage records the digests as release labels.
    info = helm.status("egov-user", namespace=next(s.namespace for s in specs if s.name == "egov-user"))
    assert info.labels[digests.LABEL_VERSION] == "test"
    user_values = next(s.values for s in specs if s.name == "egov-user")
    assert info.labels[digests.LABEL_VALUES_DIGEST] == digests.label_value(digests.values_digest(user_values))


def test_never_ready_release_fails_fast_skips_dependents_and_resumes(rollout, helm, api) -> None:
    suffix = unique_suffix()
    subset = ("configmaps", "redis", "egov-mdms-service", "egov-workflow-v2", "egov-idgen", *CORE_CHAIN)
    specs = [s for s in sample_specs(suffix, timeout=120) if s.name in subset]
    rollout.set_rollout(delay=0.2, never_ready={"egov-enc-service": "ImagePullBackOff"})
    recorder = Recorder()
    report = make_executor(helm, api, recorder, uninstall_failed_install=True).run(specs)

    enc = report.results["egov-enc-service"]
    assert enc.outcome == FAILED, json.dumps(report.to_dict(), indent=1)
    assert enc.reason == "ImagePullBackOff"
    assert "pod egov-enc-service-" in enc.error and "simulated by the rig: ImagePullBackOff" in enc.error
    assert enc.seconds < 40, "a broken pod is reported at once, not after the 120 s timeout"
    assert enc.uninstalled and helm.status("egov-enc-service", namespace=f"egov-{suffix}") is None
    assert report.by_outcome(SKIPPED) == ["egov-hrms", "egov-user"]
    assert report.results["egov-hrms"].skipped_because == ["egov-enc-service"]
    independents = {s.name for s in specs} - set(CORE_CHAIN)
    assert set(report.by_outcome(DEPLOYED)) == independents
    assert recorder.of("egov-user", "skipped") and not recorder.of("egov-user", "started")

    # Fixed: the rerun deploys the failed and skipped releases and leaves the rest alone.
    rollout.set_rollout(never_ready=[])
    again = make_executor(helm, api).run(specs)
    assert again.by_outcome(DEPLOYED) == sorted(CORE_CHAIN), again.summary_text()
    assert set(again.by_outcome(UNCHANGED)) == independents


def test_failed_upgrade_is_rolled_back_to_the_previous_revision(rollout, helm, api) -> None:
    suffix = unique_suffix()
    namespace = f"egov-{suffix}"
    specs = [s for s in sample_specs(suffix, timeout=60) if s.name in ("configmaps", "egov-idgen")]
    assert make_executor(helm, api).run(specs).ok
    before = helm.status("egov-idgen", namespace=namespace)

    rollout.set_rollout(never_ready={"egov-idgen": "CrashLoopBackOff"})
    changed = sample_specs(suffix, timeout=60, values={"egov-idgen": {"replicas": 2}})
    changed = [s for s in changed if s.name in ("configmaps", "egov-idgen")]
    report = make_executor(helm, api).run(changed)
    idgen = report.results["egov-idgen"]
    assert idgen.outcome == FAILED and idgen.reason == "CrashLoopBackOff"
    assert idgen.action == "upgrade" and idgen.rolled_back_to == before.revision
    after = helm.status("egov-idgen", namespace=namespace)
    assert after.status == "deployed" and after.revision == before.revision + 2
    assert after.labels[digests.LABEL_VALUES_DIGEST] == before.labels[digests.LABEL_VALUES_DIGEST]
    assert report.results["configmaps"].outcome == UNCHANGED


def test_identical_rerun_changes_nothing_and_one_value_upgrades_one_release(rollout, helm, api) -> None:
    suffix = unique_suffix()
    subset = ("configmaps", "redis", "egov-mdms-service", "egov-idgen", "gateway")

    def specs_with(values=None):
        return [s for s in sample_specs(suffix, values=values) if s.name in subset]

    specs = specs_with()
    assert make_executor(helm, api).run(specs).ok
    histories = {s.name: len(helm.history(s.name, namespace=s.namespace)) for s in specs}

    rerun = make_executor(helm, api).run(specs_with())
    assert rerun.by_outcome(UNCHANGED) == sorted(histories), rerun.summary_text()
    assert rerun.seconds < 10
    assert {s.name: len(helm.history(s.name, namespace=s.namespace)) for s in specs} == histories

    # A value no template of the chart reads: the objects are the same, so no upgrade either.
    unread = make_executor(helm, api).run(specs_with({"gateway": {"notReadByAnyTemplate": 1}}))
    assert unread.by_outcome(UNCHANGED) == sorted(histories), unread.summary_text()

    changed = make_executor(helm, api).run(specs_with({"gateway": {"replicas": 2}}))
    assert changed.by_outcome(DEPLOYED) == ["gateway"]
    assert changed.results["gateway"].action == "upgrade"
    assert len(changed.by_outcome(UNCHANGED)) == len(specs) - 1


def test_a_second_process_sees_the_releases(rollout, helm, api, helm_storage_dsn, rig) -> None:
    suffix = unique_suffix()
    specs = [s for s in sample_specs(suffix) if s.name in ("redis", "ingress-nginx")]
    assert make_executor(helm, api).run(specs).ok
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from installer.adapters.helm import HelmSdkEngine, KubeAccess, ReleaseStorage\n"
        "from installer.deploy.helmops import EngineOperations\n"
        "with HelmSdkEngine(KubeAccess(Path(sys.argv[1])), ReleaseStorage('sql', sql_dsn=sys.argv[2]),"
        " openapi=False) as engine:\n"
        "    ops = EngineOperations(engine)\n"
        "    found = {n: ops.current(n, sys.argv[3]) for n in ('redis', 'ingress-nginx')}\n"
        "    print(json.dumps({n: [c.revision, c.status, c.labels] for n, c in found.items()}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(rig.kubeconfig_path), helm_storage_dsn,
                          f"backbone-{suffix}"], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(out.stdout)
    assert seen["redis"][:2] == [1, "deployed"] and seen["ingress-nginx"][:2] == [1, "deployed"]
    assert seen["redis"][2][digests.LABEL_VALUES_DIGEST] == digests.label_value(digests.values_digest({}))
    # And its view makes a rerun a no-op.
    assert EngineOperations(helm).current("redis", f"backbone-{suffix}").labels == seen["redis"][2]


def test_cancel_stops_waiting_at_once_and_a_rerun_completes(rollout, helm, api) -> None:
    import threading
    import time

    from installer.deploy.model import CANCELLED

    suffix = unique_suffix()
    specs = [s for s in sample_specs(suffix, timeout=120) if s.name in ("configmaps", "redis", "egov-idgen", "gateway")]
    rollout.set_rollout(delay=60)
    recorder = Recorder()
    executor = make_executor(helm, api, recorder)

    def cancel_once_waiting() -> None:
        while not any(e.kind == "progress" and e.desired for e in list(recorder.events)):
            time.sleep(0.05)
        executor.cancelled.set()

    threading.Thread(target=cancel_once_waiting, daemon=True).start()
    started = time.monotonic()
    report = executor.run(specs)
    assert time.monotonic() - started < 20, "cancellation does not wait for the 60 s rollout"
    outcomes = {name: result.outcome for name, result in report.results.items()}
    assert CANCELLED in outcomes.values() and FAILED not in outcomes.values(), outcomes
    assert not any(e.kind in ("rolled-back", "uninstalled") for e in recorder.events)

    rollout.set_rollout(delay=0)
    again = make_executor(helm, api).run(specs)
    assert again.ok, again.summary_text()
