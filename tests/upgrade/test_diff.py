"""The upgrade plan's rules on plain manifests (no cluster): backbone swaps, selectors, claims, CRDs."""
from __future__ import annotations

from installer.upgrade.diff import ReleaseView, compare


def _workload(kind: str, image: str, *, selector: str = "a", storage: str | None = None) -> dict:
    spec: dict = {"selector": {"matchLabels": {"app": selector}},
                  "template": {"spec": {"containers": [{"name": "c", "image": image}]}}}
    if storage:
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"},
                                         "spec": {"resources": {"requests": {"storage": storage}}}}]
    return {"kind": kind, "metadata": {"name": "w", "namespace": "backbone"}, "spec": spec}


def _plan(old: list[dict], new: list[dict]):
    return compare("site", {"r": ReleaseView("r", "backbone", documents=old)},
                   {"r": ReleaseView("r", "backbone", documents=new)}, from_profile="a", to_profile="b")


def test_elasticsearch_major_change_is_blocked_with_the_operators_steps() -> None:
    plan = _plan([_workload("StatefulSet", "docker.elastic.co/elasticsearch/elasticsearch:6.6.2")],
                 [_workload("StatefulSet", "docker.elastic.co/elasticsearch/elasticsearch:8.11.3")])
    [(name, reason)] = plan.blocked
    assert name == "r" and "reindex" in reason and "6.6.2" in reason


def test_a_kafka_pipeline_service_is_not_kafka() -> None:
    plan = _plan([_workload("Deployment", "egovio/national-dashboard-kafka-pipeline:v1.0.1")],
                 [_workload("Deployment", "egovio/national-dashboard-kafka-pipeline:v2.0.0")])
    assert plan.blocked == [] and plan.by_action("upgrade") == ["r"]


def test_selector_and_claim_template_changes_are_immutable_and_growth_is_named() -> None:
    plan = _plan([_workload("StatefulSet", "redis:7.2.4", storage="8Gi")],
                 [_workload("StatefulSet", "redis:7.2.4", selector="b", storage="16Gi")])
    assert sorted(f.field for _, f in plan.immutable) == ["spec.selector", "spec.volumeClaimTemplates"]
    [growth] = plan.releases[0].pvc_growth
    assert (growth.old, growth.new) == ("8Gi", "16Gi")


def test_a_changed_crd_is_listed() -> None:
    crd = {"kind": "CustomResourceDefinition", "metadata": {"name": "x.example.org"}, "spec": {"v": 1}}
    plan = _plan([crd], [{**crd, "spec": {"v": 2}}])
    assert plan.releases[0].crds == ["CustomResourceDefinition/backbone/x.example.org"]
