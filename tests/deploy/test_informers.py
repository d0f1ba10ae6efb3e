"""The shared watches readiness reads: one list+watch per kind and namespace, woken by every change."""

from __future__ import annotations

import time

from installer.adapters.kube import ApiCluster, KubeError
from installer.deploy.informers import ObjectCache


def test_one_watch_per_kind_and_namespace_sees_changes_at_once(rig, api) -> None:
    cluster = ApiCluster(api)
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "informers"}})
    cache = ObjectCache(cluster, watch_seconds=2)  # short watches: resuming after the server ends one is exercised
    try:
        assert cache.objects("ConfigMap", "informers") == []
        cache.objects("ConfigMap", "informers")
        assert cache.watched() == [("ConfigMap", "informers")]
        seen = cache.generation
        cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "informers"},
                        "data": {"k": "1"}})
        assert cache.wait_for_change(seen, 5) != seen
        assert [c["data"] for c in cache.objects("ConfigMap", "informers")] == [{"k": "1"}]
        time.sleep(3)  # the first watch has ended and been resumed from the last version seen
        seen = cache.generation
        cluster.patch("ConfigMap", "a", {"data": {"k": "2"}}, "informers")
        assert cache.wait_for_change(seen, 5) != seen
        assert [c["data"] for c in cache.objects("ConfigMap", "informers")] == [{"k": "2"}]
    finally:
        cache.close()


def test_an_api_that_stops_answering_is_reported_not_served_stale() -> None:
    class Gone:
        server = "http://127.0.0.1:9"

        def list_versioned(self, kind, namespace=None):
            raise KubeError("no answer from http://127.0.0.1:9: connection refused")

    cache = ObjectCache(Gone())  # type: ignore[arg-type]
    try:
        cache.objects("Deployment", "egov")
    except KubeError as error:
        assert error.status is None
    else:
        raise AssertionError("a cache over an API that does not answer served objects")
    finally:
        cache.close()
