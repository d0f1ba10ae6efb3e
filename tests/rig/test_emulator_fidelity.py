"""The emulator serves what kube-apiserver serves for CRDs and for Helm's release storage (protobuf)."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.rig import kube_crds, kube_protobuf
from tests.rig.rig import Rig, RigError

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.rig.digit.test"},
    "spec": {
        "group": "rig.digit.test", "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
        "versions": [
            {"name": "v1alpha1", "served": True, "storage": False, "schema": {"openAPIV3Schema": {"type": "object"}}},
            {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
             "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
        ],
    },
}
GADGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.rig.digit.test"},
    "spec": {"group": "rig.digit.test", "scope": "Cluster", "names": {"kind": "Gadget", "plural": "gadgets"},
             "versions": [{"name": "v1", "served": True, "storage": True}]},
}


def _client(rig: Rig):
    from kubernetes import config

    return config.new_client_from_config(config_file=str(rig.kubeconfig_path))


def _get(rig: Rig, path: str, accept: str = "application/json") -> tuple[int, bytes, str]:
    request = urllib.request.Request(f"{rig.api_url}{path}", headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


# --- protobuf codec -------------------------------------------------------------------------------

def test_protobuf_round_trip_of_secrets_configmaps_and_their_lists() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1", "immutable": False,
              "metadata": {"name": "sh.helm.release.v1.x.v1", "namespace": "egov", "uid": "u-1",
                           "resourceVersion": "1042", "generation": 3, "creationTimestamp": "2026-11-29T10:11:12Z",
                           "labels": {"owner": "helm", "name": "x"}, "annotations": {"a": ""},
                           "finalizers": ["f1"],
                           "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u-2",
                                                "controller": False}]},
              "data": {"release": base64.b64encode(bytes(range(256))).decode(), "empty": ""}}
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"},
                 "data": {"k": "välue\nwith lines"}, "binaryData": {"b": base64.b64encode(b"\x00\xff").decode()}}
    for obj in (secret, configmap):
        body = kube_protobuf.encode(obj)
        assert body.startswith(b"k8s\x00")
        assert kube_protobuf.decode(body) == obj
    listing = {"apiVersion": "v1", "kind": "SecretList", "metadata": {"resourceVersion": "7"}, "items": [secret]}
    # Items of a protobuf list carry no apiVersion/kind (the list's envelope says what they are).
    bare = {k: v for k, v in secret.items() if k not in ("apiVersion", "kind")}
    assert kube_protobuf.decode(kube_protobuf.encode(listing)) == {**listing, "items": [bare]}
    empty = {"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {}, "items": []}
    assert kube_protobuf.decode(kube_protobuf.encode(empty)) == empty


def test_protobuf_decoding_drops_what_json_omits_and_refuses_what_it_cannot_read() -> None:
    # Go writes empty optional strings and zero numbers; the JSON form omits them.
    meta = (kube_protobuf._length_delimited(1, b"n") + kube_protobuf._length_delimited(2, b"")
            + kube_protobuf._key(7, 0) + kube_protobuf._varint(0) + kube_protobuf._length_delimited(8, b""))
    raw = kube_protobuf._length_delimited(1, meta) + kube_protobuf._length_delimited(3, b"Opaque")
    envelope = (kube_protobuf._length_delimited(1, kube_protobuf._length_delimited(1, b"v1")
                                                + kube_protobuf._length_delimited(2, b"Secret"))
                + kube_protobuf._length_delimited(2, raw))
    assert kube_protobuf.decode(b"k8s\x00" + envelope) == {"apiVersion": "v1", "kind": "Secret",
                                                           "metadata": {"name": "n"}, "type": "Opaque"}
    with pytest.raises(kube_protobuf.ProtobufError, match="magic"):
        kube_protobuf.decode(b'{"kind": "Secret"}')
    pod = kube_protobuf._length_delimited(1, kube_protobuf._length_delimited(2, b"Pod"))
    with pytest.raises(kube_protobuf.ProtobufError, match="'Pod'"):
        kube_protobuf.decode(b"k8s\x00" + pod)
    with pytest.raises(kube_protobuf.ProtobufError, match="runs past"):
        kube_protobuf.decode(b"k8s\x00" + envelope[:-3])
    assert kube_protobuf.prefers_protobuf("application/vnd.kubernetes.protobuf,application/json")
    assert not kube_protobuf.prefers_protobuf("application/json, */*")


def test_version_priority_and_crd_validation() -> None:
    assert kube_crds.version_order({"v1beta1", "v1", "v2alpha1", "v1alpha1", "v10", "foo"}) == \
        ["v10", "v1", "v1beta1", "v2alpha1", "v1alpha1", "foo"]
    assert kube_crds.problems(WIDGET_CRD) == []
    bad = json.loads(json.dumps(WIDGET_CRD))
    bad["metadata"]["name"] = "widgets.other.test"
    bad["spec"]["scope"] = "Global"
    found = kube_crds.problems(bad)
    assert any("metadata.name" in p for p in found) and any("spec.scope" in p for p in found)


# --- on the rig -----------------------------------------------------------------------------------

def test_crd_serves_its_kinds_until_deleted(rig: Rig) -> None:
    from kubernetes import client, watch
    from kubernetes.client.rest import ApiException

    api = _client(rig)
    ext, custom, core = client.ApiextensionsV1Api(api), client.CustomObjectsApi(api), client.CoreV1Api(api)
    assert _get(rig, "/apis/rig.digit.test")[0] == 404
    with pytest.raises(ApiException) as refused:
        custom.create_namespaced_custom_object("rig.digit.test", "v1", "default", "widgets",
                                               {"apiVersion": "rig.digit.test/v1", "kind": "Widget",
                                                "metadata": {"name": "early"}})
    assert refused.value.status == 404
    core.create_namespace({"metadata": {"name": "crdtest"}})
    try:
        created = ext.create_custom_resource_definition(WIDGET_CRD)
        established = {c.type: c.status for c in created.status.conditions}
        assert established == {"NamesAccepted": "True", "Established": "True"}
        ext.create_custom_resource_definition(GADGET_CRD)

        groups = json.loads(_get(rig, "/apis")[1])["groups"]
        group = next(g for g in groups if g["name"] == "rig.digit.test")
        assert [v["version"] for v in group["versions"]] == ["v1", "v1alpha1"]
        assert group["preferredVersion"]["version"] == "v1"
        listed = {r["name"]: r for r in json.loads(_get(rig, "/apis/rig.digit.test/v1")[1])["resources"]}
        assert listed["widgets"]["kind"] == "Widget" and listed["widgets"]["namespaced"] is True
        assert listed["widgets"]["shortNames"] == ["wd"] and "widgets/status" in listed
        assert listed["gadgets"]["namespaced"] is False
        assert "gadgets" not in {r["name"] for r in json.loads(_get(rig, "/apis/rig.digit.test/v1alpha1")[1])["resources"]}

        events: list[tuple[str, str]] = []

        def follow() -> None:
            for event in watch.Watch().stream(custom.list_namespaced_custom_object, "rig.digit.test", "v1",
                                              "crdtest", "widgets", timeout_seconds=3):
                events.append((event["type"], event["object"]["metadata"]["name"]))

        watcher = threading.Thread(target=follow)
        watcher.start()
        time.sleep(0.5)
        widget = {"apiVersion": "rig.digit.test/v1", "kind": "Widget", "metadata": {"name": "w1"},
                  "spec": {"size": 1, "colour": "red"}}
        made = custom.create_namespaced_custom_object("rig.digit.test", "v1", "crdtest", "widgets", widget)
        assert made["metadata"]["namespace"] == "crdtest" and made["metadata"]["uid"]
        patched = custom.patch_namespaced_custom_object("rig.digit.test", "v1", "crdtest", "widgets", "w1",
                                                        {"spec": {"size": 2}})
        assert patched["spec"] == {"size": 2, "colour": "red"} and patched["metadata"]["generation"] == 2
        status = custom.patch_namespaced_custom_object_status("rig.digit.test", "v1", "crdtest", "widgets", "w1",
                                                              {"status": {"ready": True}})
        assert status["status"] == {"ready": True} and status["metadata"]["generation"] == 2
        assert [w["metadata"]["name"] for w in custom.list_cluster_custom_object(
            "rig.digit.test", "v1", "widgets")["items"]] == ["w1"]
        watcher.join(10)
        assert events[:2] == [("ADDED", "w1"), ("MODIFIED", "w1")]

        # Scope as declared: a cluster-scoped kind has no namespaced path and the reverse.
        gadget = {"apiVersion": "rig.digit.test/v1", "kind": "Gadget", "metadata": {"name": "g1"}}
        assert custom.create_cluster_custom_object("rig.digit.test", "v1", "gadgets", gadget)["metadata"]["name"] == "g1"
        for call in (lambda: custom.create_namespaced_custom_object("rig.digit.test", "v1", "crdtest", "gadgets", gadget),
                     lambda: custom.get_cluster_custom_object("rig.digit.test", "v1", "widgets", "w1"),
                     lambda: custom.patch_namespaced_custom_object_status("rig.digit.test", "v1", "crdtest",
                                                                          "gadgets", "g1", {})):
            with pytest.raises(ApiException) as wrong:
                call()
            assert wrong.value.status == 404 and json.loads(wrong.value.body)["reason"] == "NotFound"
        with pytest.raises(ApiException) as invalid:
            ext.create_custom_resource_definition({**GADGET_CRD, "metadata": {"name": "things.rig.digit.test"}})
        assert invalid.value.status == 422 and "metadata.name" in json.loads(invalid.value.body)["message"]

        # Deleting the CRD deletes its objects and its discovery entries.
        ext.delete_custom_resource_definition("widgets.rig.digit.test")
        assert "widgets" not in {r["name"] for r in json.loads(_get(rig, "/apis/rig.digit.test/v1")[1])["resources"]}
        assert _get(rig, "/apis/rig.digit.test/v1alpha1")[0] == 404
        assert _get(rig, "/apis/rig.digit.test/v1/namespaces/crdtest/widgets/w1")[0] == 404
        ext.create_custom_resource_definition(WIDGET_CRD)
        assert custom.list_namespaced_custom_object("rig.digit.test", "v1", "crdtest", "widgets")["items"] == []
    finally:
        for name in ("widgets.rig.digit.test", "gadgets.rig.digit.test"):
            try:
                ext.delete_custom_resource_definition(name)
            except ApiException:
                pass
        core.delete_namespace("crdtest")
    assert _get(rig, "/apis/rig.digit.test")[0] == 404


def test_secrets_and_configmaps_answer_in_protobuf_when_asked(rig: Rig) -> None:
    from kubernetes import client

    core = client.CoreV1Api(_client(rig))
    core.create_namespaced_config_map("default", {"metadata": {"name": "pb-check", "labels": {"k": "v"}},
                                                  "data": {"a": "1"}})
    try:
        status, body, content_type = _get(rig, "/api/v1/namespaces/default/configmaps/pb-check",
                                          "application/vnd.kubernetes.protobuf,application/json")
        assert status == 200 and content_type.startswith(kube_protobuf.PROTOBUF)
        as_json = json.loads(_get(rig, "/api/v1/namespaces/default/configmaps/pb-check")[1])
        assert kube_protobuf.decode(body) == as_json
        status, body, _ = _get(rig, "/api/v1/namespaces/default/configmaps?labelSelector=k%3Dv",
                               "application/vnd.kubernetes.protobuf,application/json")
        assert [i["metadata"]["name"] for i in kube_protobuf.decode(body)["items"]] == ["pb-check"]
        # Other kinds, and errors, stay JSON (client-go's fallback), as kube-apiserver does for custom resources.
        status, body, content_type = _get(rig, "/api/v1/namespaces", "application/vnd.kubernetes.protobuf,application/json")
        assert status == 200 and content_type.startswith("application/json")
        status, body, content_type = _get(rig, "/api/v1/namespaces/default/secrets/absent",
                                          "application/vnd.kubernetes.protobuf,application/json")
        assert status == 404 and json.loads(body)["reason"] == "NotFound"
        # A protobuf body the emulator cannot read is refused, not stored.
        request = urllib.request.Request(f"{rig.api_url}/api/v1/namespaces/default/pods", data=b"k8s\x00\x0a\x05\x12\x03Pod",
                                         method="POST", headers={"Content-Type": kube_protobuf.PROTOBUF})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 415
    finally:
        core.delete_namespaced_config_map("pb-check", "default")


def _chart_with_crd(root: Path) -> Path:
    chart = root / "widgets"
    (chart / "crds").mkdir(parents=True)
    (chart / "templates").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: widgets\nversion: 0.1.0\n")
    (chart / "crds" / "widgets.yaml").write_text(json.dumps(WIDGET_CRD))
    (chart / "templates" / "widget.yaml").write_text(
        "apiVersion: rig.digit.test/v1\nkind: Widget\nmetadata:\n  name: {{ .Release.Name }}\n"
        "spec:\n  size: {{ .Values.size | default 1 }}\n")
    return chart


def test_helm_secret_storage_and_crds_with_helms_own_engine(rig: Rig, tmp_path: Path) -> None:
    """Helm's default `secret` driver (protobuf over client-go) and a chart's crds/ against the emulator."""
    from kubernetes import client

    from installer.adapters.helm import HelmSdkEngine, KubeAccess, ReleaseStorage

    chart = _chart_with_crd(tmp_path)
    core, ext = client.CoreV1Api(_client(rig)), client.ApiextensionsV1Api(_client(rig))
    core.create_namespace({"metadata": {"name": "helmstore"}})
    try:
        with HelmSdkEngine(KubeAccess(rig.kubeconfig_path), ReleaseStorage("secret"), openapi=False) as helm:
            assert helm.install("w", chart, {"size": 3}, namespace="helmstore", timeout=60).status == "deployed"
            assert helm.upgrade("w", chart, {"size": 4}, namespace="helmstore", timeout=60).revision == 2
        custom = client.CustomObjectsApi(_client(rig))
        assert custom.get_namespaced_custom_object("rig.digit.test", "v1", "helmstore", "widgets", "w")["spec"] == {"size": 4}
        records = core.list_namespaced_secret("helmstore", label_selector="owner=helm").items
        assert sorted(s.metadata.name for s in records) == ["sh.helm.release.v1.w.v1", "sh.helm.release.v1.w.v2"]
        assert {s.type for s in records} == {"helm.sh/release.v1"} and all(s.data["release"] for s in records)
        # Another process, another engine: the releases are in the cluster, not in the first one's memory.
        with HelmSdkEngine(KubeAccess(rig.kubeconfig_path), ReleaseStorage("secret"), openapi=False) as helm:
            assert [(r.name, r.revision, r.status) for r in helm.list(namespace="helmstore")] == [("w", 2, "deployed")]
            assert [r.revision for r in helm.history("w", namespace="helmstore")] == [1, 2]
            helm.uninstall("w", namespace="helmstore")
            assert helm.list(namespace="helmstore") == []
        assert core.list_namespaced_secret("helmstore", label_selector="owner=helm").items == []
    finally:
        core.delete_namespace("helmstore")
        ext.delete_custom_resource_definition("widgets.rig.digit.test")  # Helm keeps crds/ on uninstall


def test_rig_env_selects_helm_storage(rig: Rig, fresh_rig) -> None:
    assert "HELM_DRIVER" not in rig.env and rig.helm_driver == "secret"  # Helm's default, as on a real cluster
    sql = fresh_rig(nodes=1, rollout_delay=0, helm_driver="sql")
    assert sql.env["HELM_DRIVER"] == "sql" and sql.env["HELM_DRIVER_SQL_CONNECTION_STRING"].startswith("postgresql://")
    import psycopg

    with psycopg.connect(sql.env["HELM_DRIVER_SQL_CONNECTION_STRING"], connect_timeout=5) as conn:
        assert conn.execute("select current_database()").fetchone()[0] == "helm"
    with pytest.raises(RigError, match="--helm-driver"):
        Rig.up(sql.dir.parent / "bad", nodes=1, helm_driver="configmap")
