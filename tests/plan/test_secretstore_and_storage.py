"""Generated secrets (created once, kept, reused) and static volumes derived from rendered claims."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from installer import redact
from installer.secretstore import (
    GENERATORS,
    KubeClusterCopy,
    SecretStore,
    SecretStoreError,
)
from tests.plan.conftest import materialize_example, seed_secrets

KEYS = ["credentials.enc_master_password", "credentials.enc_master_salt", "credentials.enc_master_iv",
        "credentials.kafka_cluster_id"]


def test_values_are_generated_once_and_never_again(tmp_path: Path) -> None:
    store = SecretStore(tmp_path)
    first, generated = store.ensure(KEYS)
    assert sorted(generated) == sorted(KEYS)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert len(first["credentials.enc_master_salt"]) == 8 and len(first["credentials.enc_master_iv"]) == 12
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", first["credentials.kafka_cluster_id"])
    again, generated_again = SecretStore(tmp_path).ensure(KEYS + ["credentials.grafana_admin_password"])
    assert generated_again == ["credentials.grafana_admin_password"]
    assert {k: again[k] for k in KEYS} == first
    assert redact.mask(f"salt={first['credentials.enc_master_salt']}") == f"salt={redact.MASK}"


def test_a_damaged_store_is_reported_not_regenerated(tmp_path: Path) -> None:
    (tmp_path / "generated-secrets.json").write_text("{not json")
    with pytest.raises(SecretStoreError, match="unreadable"):
        SecretStore(tmp_path).ensure(KEYS)
    assert (tmp_path / "generated-secrets.json").read_text() == "{not json"


def test_generators_differ_between_calls() -> None:
    for key, generate in GENERATORS.items():
        assert generate() != generate(), key


def test_the_cluster_copy_wins_and_is_kept_in_step(tmp_path: Path, kube_api: Path) -> None:
    from installer.adapters.kube import connect

    cluster = KubeClusterCopy(connect(kube_api), namespace="digit-installer-store-test")
    # Another jump host generated these first.
    elsewhere, _ = SecretStore(tmp_path / "jump-a", cluster).ensure(KEYS)
    # This one has stale local values for two keys: the cluster's are used and written back.
    seed = tmp_path / "jump-b"
    seed.mkdir()
    (seed / "generated-secrets.json").write_text(json.dumps({"values": {KEYS[0]: "stale-local-value"}}))
    here, generated = SecretStore(seed, cluster).ensure(KEYS + ["credentials.elasticsearch_password"])
    assert generated == ["credentials.elasticsearch_password"]
    assert {k: here[k] for k in KEYS} == elsewhere
    assert json.loads((seed / "generated-secrets.json").read_text())["values"][KEYS[0]] == elsewhere[KEYS[0]]
    assert cluster.read()["credentials.elasticsearch_password"] == here["credentials.elasticsearch_password"]


def test_static_volumes_follow_the_rendered_claims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from installer.adapters.helm import HelmSdkEngine
    from installer.answers import load_answers
    from installer.plan import build_plan, render_plan

    answers_path = materialize_example("sdc-vms.yaml", tmp_path / "site", monkeypatch)
    seed_secrets(tmp_path / "state")
    answers = load_answers(answers_path)
    plan = build_plan(answers, store=SecretStore(tmp_path / "state"))
    with HelmSdkEngine() as engine:
        render_plan(plan, engine)
    volumes = [o.manifest for o in plan.objects if o.kind == "PersistentVolume"]
    claims = {}
    for rendered in plan.rendered.values():
        for doc in rendered.documents:
            if doc.get("kind") == "StatefulSet":
                for template in doc["spec"]["volumeClaimTemplates"]:
                    for ordinal in range(doc["spec"]["replicas"]):
                        claims[f"{template['metadata']['name']}-{doc['metadata']['name']}-{ordinal}"] = (
                            doc["metadata"]["namespace"], template["spec"]["resources"]["requests"]["storage"])
    assert len(claims) == 6  # sdc-dev: 3 Kafka controllers, 3 Elasticsearch masters
    assert {v["spec"]["claimRef"]["name"]: (v["spec"]["claimRef"]["namespace"], v["spec"]["capacity"]["storage"])
            for v in volumes} == claims
    assert claims["data-kafka-kraft-controller-0"] == ("backbone", "50Gi")
    assert claims["data-elasticsearch-2"] == ("backbone", "5Gi")
    workers = [n.label for n in answers.target.nodes if n.role == "worker"]
    placed = [v["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"][0]
              for v in volumes]
    assert set(placed) <= set(workers) and len(set(placed)) == min(len(workers), len(volumes))
    assert all(v["spec"]["storageClassName"] == "digit-static" for v in volumes)
    assert all(v["spec"]["hostPath"]["path"].startswith("/var/lib/digit-volumes/backbone/") for v in volumes)
    assert any(o.kind == "StorageClass" and o.name == "digit-static" for o in plan.objects)


def test_registry_and_provided_certificate_become_secrets_in_every_namespace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    from installer.answers import load_answers
    from installer.plan import build_plan
    from tests.plan.conftest import TEST_ENV

    answers_path = materialize_example("sdc-vms.yaml", tmp_path / "site", monkeypatch)
    plan = build_plan(load_answers(answers_path), store=SecretStore(tmp_path / "state"))
    by_key = {o.key: o.manifest for o in plan.objects}
    for namespace in plan.graph.namespaces:
        pull = by_key[f"Secret/{namespace}/digit-registry"]
        assert pull["type"] == "kubernetes.io/dockerconfigjson"
        config = json.loads(base64.b64decode(pull["data"][".dockerconfigjson"]))
        assert config["auths"]["registry.sdc.local:5000"]["password"] == TEST_ENV["DIGIT_REGISTRY_PASSWORD"]
        tls = by_key[f"Secret/{namespace}/uat.digit.example.gov.in-tls-certs"]
        assert tls["type"] == "kubernetes.io/tls"
        assert base64.b64decode(tls["data"]["tls.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")
        assert b"file-secret-for-tests-tls.key" in base64.b64decode(tls["data"]["tls.key"])
    assert plan.env_files.env["global"]["imagePullSecrets"] == ["digit-registry"]
