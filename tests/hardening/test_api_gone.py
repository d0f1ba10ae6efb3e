"""The Kubernetes API goes away in the middle of a deploy (the rig's emulator is killed): every waiting
release says "Kubernetes API unreachable" with the address after a short grace, and the deploy ends
within a couple of minutes instead of each release polling in silence until its own timeout."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from installer.adapters.helm import HelmSdkEngine, KubeAccess, ReleaseStorage
from installer.adapters.kube import connect
from installer.deploy.executor import Executor
from installer.deploy.helmops import EngineOperations
from installer.deploy.model import DEPLOYED, FAILED, SKIPPED
from installer.deploy.readiness import ReadinessWatcher
from tests.deploy.conftest import Recorder, helm_dsn, sample_specs, unique_suffix


@pytest.mark.timeout(300)
def test_waiting_releases_report_the_api_unreachable_and_the_deploy_ends(fresh_rig):
    rig = fresh_rig(nodes=1, rollout_delay=600)  # nothing becomes ready: every release waits
    api = connect(rig.kubeconfig_path)
    recorder = Recorder()
    specs = sample_specs(unique_suffix(), timeout=600.0)  # the default profiles' 10 minutes
    with HelmSdkEngine(KubeAccess(rig.kubeconfig_path), ReleaseStorage("sql", sql_dsn=helm_dsn(rig)),
                       openapi=False, call_timeout=30) as helm:
        executor = Executor(EngineOperations(helm), ReadinessWatcher(api, poll_interval=0.2, api_grace=5.0),
                            installer_version="test", concurrency=4, on_event=recorder)
        box = {}
        runner = threading.Thread(target=lambda: box.setdefault("report", executor.run(specs)), daemon=True)
        runner.start()
        deadline = time.monotonic() + 60
        def waiting_now() -> set[str]:
            return {e.release for e in recorder.events if e.kind == "progress" and (e.desired or 0) >= 1}

        while len(waiting_now()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        waiting = waiting_now()
        assert waiting, "no release started waiting"
        pid = int((rig.dir / "kube.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        gone = time.monotonic()
        runner.join(150)
        assert not runner.is_alive(), "the deploy was still running 150s after the API went away"
        took = time.monotonic() - gone
    report = box["report"]
    assert took < 120, took
    print({n: (r.outcome, r.reason, r.error) for n, r in report.results.items()}, took)
    assert set(report.by_outcome(DEPLOYED)) <= {"configmaps"}  # no workloads: nothing to wait for
    for name in waiting:  # every release that was waiting on its workloads says why it stopped
        result = report.results[name]
        assert result.outcome == FAILED and result.reason == "ApiUnreachable", (name, result)
        assert f"Kubernetes API unreachable at {api.server} for 5s" in result.error
    unreachable = [r for r in report.results.values() if r.reason == "ApiUnreachable"]
    assert unreachable, {n: (r.outcome, r.reason, r.error) for n, r in report.results.items()}
    assert {r.outcome for r in report.results.values()} <= {FAILED, SKIPPED, DEPLOYED}
