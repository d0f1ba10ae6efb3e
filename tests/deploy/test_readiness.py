"""The readiness watch against the rig's Kubernetes API and rollout simulator: progress, breakage, timeout."""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from installer.adapters.kube import ApiCluster
from installer.deploy.readiness import ReadinessWatcher, ReleaseNotReady, WorkloadRef
from tests.deploy.conftest import unique_suffix


@pytest.fixture
def namespace(api) -> str:
    name = f"watch-{unique_suffix()}"
    client.CoreV1Api(api).create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def deployment(api, namespace: str, name: str, replicas: int = 1) -> WorkloadRef:
    labels = {"app": name, "app.kubernetes.io/instance": name}
    client.AppsV1Api(api).create_namespaced_deployment(namespace, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "main", "image": f"egovio/{name}:1"}]}}}})
    return WorkloadRef("Deployment", name, namespace)


def stray_pod(api, namespace: str, app: str, status: dict) -> str:
    """A pod of the workload that the simulator does not own, carrying the status a kubelet would report."""
    name = f"{app}-manual"
    client.CoreV1Api(api).create_namespaced_pod(namespace, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": f"egovio/{app}:1"}]}, "status": status})
    return name


def test_progress_reports_ready_over_desired_until_ready(rollout, api, namespace) -> None:
    rollout.set_rollout(delay=0.8)
    refs = [deployment(api, namespace, "egov-user", replicas=2), deployment(api, namespace, "egov-hrms")]
    seen: list[tuple[int, int]] = []
    ReadinessWatcher(ApiCluster(api), poll_interval=0.1).wait(refs, timeout=20, on_progress=lambda r, d, _: seen.append((r, d)))
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)


def test_crash_loop_is_reported_at_once_with_the_pod(rollout, api, namespace) -> None:
    rollout.set_rollout(never_ready={"egov-enc-service": "CrashLoopBackOff"})
    refs = [deployment(api, namespace, "egov-enc-service")]
    started = time.monotonic()
    with pytest.raises(ReleaseNotReady) as caught:
        ReadinessWatcher(ApiCluster(api), poll_interval=0.1).wait(refs, timeout=60)
    assert time.monotonic() - started < 15
    breakage = caught.value.breakage
    assert breakage.reason == "CrashLoopBackOff" and breakage.pod.startswith("egov-enc-service-")
    assert breakage.container == "main" and "simulated by the rig" in breakage.message
    # The last lines the container wrote come with it (the rig serves pods/log for simulated pods).
    assert breakage.log_tail == ["main: starting", "main: simulated by the rig: CrashLoopBackOff"]
    assert "last log lines:\n    main: starting" in breakage.describe()


def test_timeout_names_what_the_pod_waits_for(rollout, api, namespace) -> None:
    rollout.set_rollout(never_ready={"egov-idgen": "ContainerCreating"})
    refs = [deployment(api, namespace, "egov-idgen")]
    started = time.monotonic()
    with pytest.raises(ReleaseNotReady) as caught:
        ReadinessWatcher(ApiCluster(api), poll_interval=0.1).wait(refs, timeout=2)
    assert 2 <= time.monotonic() - started < 10
    breakage = caught.value.breakage
    assert breakage.reason == "Timeout"
    assert "Deployment/egov-idgen 0/1" in breakage.message and "is waiting: ContainerCreating" in breakage.message


def test_failed_migration_init_container_stops_the_wait(rollout, api, namespace) -> None:
    rollout.set_rollout(never_ready={"egov-user": "ContainerCreating"})
    refs = [deployment(api, namespace, "egov-user")]
    pod = stray_pod(api, namespace, "egov-user", {
        "phase": "Pending",
        "initContainerStatuses": [{"name": "egov-user-db-migration", "image": "egovio/egov-user-db:1", "imageID": "", "ready": False,
                                   "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]})
    with pytest.raises(ReleaseNotReady) as caught:
        ReadinessWatcher(ApiCluster(api), poll_interval=0.1).wait(refs, timeout=60)
    breakage = caught.value.breakage
    assert (breakage.pod, breakage.container, breakage.reason) == (pod, "egov-user-db-migration", "Error")
    assert breakage.message == "database migration failed: init container egov-user-db-migration exited with code 1"


def test_unbound_claim_is_reported_at_once(rollout, api, namespace) -> None:
    rollout.set_rollout(never_ready={"elasticsearch": "ContainerCreating"})
    refs = [deployment(api, namespace, "elasticsearch")]
    message = "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims."
    stray_pod(api, namespace, "elasticsearch", {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]})
    with pytest.raises(ReleaseNotReady) as caught:
        ReadinessWatcher(ApiCluster(api), poll_interval=0.1).wait(refs, timeout=60)
    assert caught.value.breakage.reason == "UnboundClaim" and caught.value.breakage.message == message


def test_jobs_count_as_ready_when_complete(rollout, api, namespace) -> None:
    rollout.set_rollout(delay=0.5)
    labels = {"app.kubernetes.io/instance": "egov-persister"}
    client.BatchV1Api(api).create_namespaced_job(namespace, {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "seed-data", "labels": labels},
        "spec": {"template": {"metadata": {"labels": labels},
                              "spec": {"restartPolicy": "Never", "containers": [{"name": "seed", "image": "x:1"}]}}}})
    states = ReadinessWatcher(ApiCluster(api), poll_interval=0.1).wait([WorkloadRef("Job", "seed-data", namespace)], timeout=20)
    assert [(s.kind, s.ready, s.desired, s.done) for s in states] == [("Job", 1, 1, True)]


def test_a_crashing_pod_of_the_revision_being_replaced_is_not_this_rollouts_failure(rollout, api, namespace) -> None:
    rollout.set_rollout(delay=1.0)
    ref = deployment(api, namespace, "egov-user")
    apps = client.AppsV1Api(api)
    uid = apps.read_namespaced_deployment("egov-user", namespace).metadata.uid
    for revision, template_hash in ((1, "old0hash"), (2, "new0hash")):
        apps.create_namespaced_replica_set(namespace, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"egov-user-{template_hash}", "labels": {"app": "egov-user",
                                                                          "pod-template-hash": template_hash},
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "egov-user",
                                              "uid": uid, "controller": True}]},
            "spec": {"selector": {"matchLabels": {"app": "egov-user", "pod-template-hash": template_hash}},
                     "template": {"metadata": {"labels": {"app": "egov-user", "pod-template-hash": template_hash}},
                                  "spec": {"containers": [{"name": "main", "image": "egovio/egov-user:1"}]}}}})
    crash = {"phase": "Running", "containerStatuses": [
        {"name": "main", "image": "egovio/egov-user:0", "imageID": "", "ready": False, "restartCount": 5,
         "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting"}}}]}
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "egov-user-old0hash-x1", "labels": {"app": "egov-user", "pod-template-hash": "old0hash"}},
        "spec": {"containers": [{"name": "main", "image": "egovio/egov-user:0"}]}, "status": crash})
    watcher = ReadinessWatcher(ApiCluster(api), poll_interval=0.1)
    states = watcher.wait([ref], timeout=20)  # the old pod's crash loop does not fail the new revision
    assert states[0].done

    core.create_namespaced_pod(namespace, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "egov-user-new0hash-y1", "labels": {"app": "egov-user", "pod-template-hash": "new0hash"}},
        "spec": {"containers": [{"name": "main", "image": "egovio/egov-user:1"}]}, "status": crash})
    _, breakage = watcher.observe([ref])
    assert breakage is not None and breakage.pod == "egov-user-new0hash-y1"
