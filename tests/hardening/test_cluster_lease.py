"""One run per cluster: a Lease on the cluster (the rig's emulator, over HTTP) naming its holder."""
from __future__ import annotations

import time

import pytest

from installer.adapters.kube import connect
from installer.deploy.lease import LEASE_NAME, LEASE_NAMESPACE, ClusterLease, ClusterLocked


@pytest.fixture
def cluster(rig):
    api = connect(rig.kubeconfig_path)
    yield api
    api.patch("Lease", LEASE_NAME, {"spec": {"holderIdentity": None, "renewTime": None}}, LEASE_NAMESPACE) \
        if api.get("Lease", LEASE_NAME, LEASE_NAMESPACE) else None
    api.close()


def test_a_second_run_is_refused_naming_the_holder_until_the_first_releases(cluster):
    first = ClusterLease(cluster, "punjab-uat", renew_every=0.3).acquire()
    try:
        lease = cluster.get("Lease", LEASE_NAME, LEASE_NAMESPACE)
        assert lease["spec"]["holderIdentity"] == first.identity
        renewed = lease["spec"]["renewTime"]
        time.sleep(1.0)
        assert cluster.get("Lease", LEASE_NAME, LEASE_NAMESPACE)["spec"]["renewTime"] != renewed
        second = ClusterLease(cluster, "haryana-uat")
        second.identity = "install haryana-uat, pid 1 on other-jump-host"
        with pytest.raises(ClusterLocked, match="locked by another run: install punjab-uat, pid"):
            second.acquire()
    finally:
        first.release()
    second.acquire()
    try:
        assert cluster.get("Lease", LEASE_NAME, LEASE_NAMESPACE)["spec"]["holderIdentity"] == second.identity
        assert second.took_over is None
    finally:
        second.release()


def test_a_lease_left_by_a_dead_run_is_taken_over_after_it_expires(cluster):
    dead = ClusterLease(cluster, "punjab-uat", duration=1)
    dead.identity = "install punjab-uat, pid 4242 on gone-host"
    dead.acquire()
    dead._stop.set()  # the process died: no renewal, no release
    time.sleep(1.5)
    taker = ClusterLease(cluster, "punjab-uat").acquire()
    try:
        assert taker.took_over == "install punjab-uat, pid 4242 on gone-host"
    finally:
        taker.release()


def test_the_install_is_refused_while_another_run_holds_the_cluster(rig, tmp_path, cluster):
    from tests.deploy.test_pipeline import Install

    holder = ClusterLease(cluster, "other-install")
    holder.identity = "install other-install, pid 77 on jump-2"
    holder.acquire()
    try:
        started = time.monotonic()
        code, _, output = Install(rig, tmp_path).run()
        assert code == 1, output
        assert "refusing to start: the cluster is locked by another run: install other-install, pid 77 on jump-2" \
            in output
        assert time.monotonic() - started < 30
        assert not (tmp_path / "state" / "journal.json").exists()
    finally:
        holder.release()
