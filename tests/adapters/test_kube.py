"""The Kubernetes adapter against the emulator over HTTP (no kube-apiserver runs on these machines)."""
from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from installer.adapters.kube import KubeCluster, KubeConfigError, KubeError, api_client, connect


@pytest.fixture
def cluster(kube_api: Path) -> KubeCluster:
    return connect(kube_api, timeout=5)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _kubeconfig(folder: Path, server: str, context: str = "c") -> Path:
    """A kubeconfig with one context for a server a test runs itself."""
    path = folder / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": "u"}}],
    }))
    return path


def test_objects_are_created_once_read_listed_and_patched(cluster: KubeCluster) -> None:
    namespace = _name("adapter")
    assert cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}) is True
    assert cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}) is False
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "s", "namespace": namespace, "labels": {"tier": "test"}}, "data": {"a": "MQ=="}}
    assert cluster.create(secret) is True
    assert cluster.get("Secret", "s", namespace)["data"] == {"a": "MQ=="}
    assert cluster.get("Secret", "absent", namespace) is None
    cluster.patch("Secret", "s", {"data": {"b": "Mg=="}}, namespace)
    assert cluster.get("Secret", "s", namespace)["data"] == {"a": "MQ==", "b": "Mg=="}
    assert [s["metadata"]["name"] for s in cluster.list("Secret", namespace, label_selector="tier=test")] == ["s"]
    assert cluster.list("Secret", namespace, label_selector="tier=other") == []
    assert namespace in {s["metadata"]["namespace"] for s in cluster.list("Secret", label_selector="tier=test")}


def test_pod_log_tail_and_server_facts(cluster: KubeCluster, kube_api: Path) -> None:
    namespace = _name("logs")
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "p", "namespace": namespace, "annotations": {"rig.digit.test/log": "one\ntwo\nthree"}},
        "spec": {"containers": [{"name": "c", "image": "x"}]}})
    assert cluster.pod_log("p", namespace, container="c", tail_lines=2) == "two\nthree\n"
    assert cluster.version().startswith("v1.")
    assert cluster.publishes_openapi() is False  # the emulator serves no OpenAPI document
    assert cluster.server.startswith("http://127.0.0.1:")
    rbac = kube_api.parent / "rbac.json"
    rbac.write_text(json.dumps({"deny": ["create secrets"]}))
    try:
        assert cluster.allowed("create", "", "secrets") is False
        assert cluster.allowed("list", "", "secrets") is True
    finally:
        rbac.unlink()


def test_api_errors_carry_their_status_and_say_whether_to_retry(cluster: KubeCluster) -> None:
    with pytest.raises(KubeError) as missing:
        cluster.patch("Secret", "nothing-here", {"data": {}}, _name("absent"))
    assert missing.value.status == 404 and not missing.value.transient and "HTTP 404" in str(missing.value)
    with pytest.raises(ValueError, match="does not know kind 'Widget'"):
        cluster.list("Widget")


def test_a_silent_api_server_is_given_up_on_in_time(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True).start()
    kubeconfig = _kubeconfig(tmp_path, f"http://127.0.0.1:{server.getsockname()[1]}", "hung")
    started = time.monotonic()
    try:
        with pytest.raises(KubeError) as hung:
            connect(kubeconfig, timeout=1).version()
        assert hung.value.status is None and hung.value.transient
        assert "no answer from http://127.0.0.1" in str(hung.value)
        assert time.monotonic() - started < 6
    finally:
        for conn in held:
            conn.close()
        server.close()


def test_a_missing_context_is_a_config_error(kube_api: Path) -> None:
    with pytest.raises(KubeConfigError, match="nosuch"):
        connect(kube_api, context="nosuch")


def test_the_engine_retries_what_the_adapter_calls_transient() -> None:
    from installer.engine.runner import is_transient

    assert is_transient(KubeError("no answer from https://api:6443: timed out"))
    assert is_transient(KubeError("PATCH ...: HTTP 409 Conflict", 409, "Conflict"))
    assert is_transient(KubeError("GET ...: HTTP 503 Service Unavailable", 503, "Service Unavailable"))
    assert not is_transient(KubeError("GET ...: HTTP 403 Forbidden", 403, "Forbidden"))


def test_the_raw_client_factory_times_out_on_a_hung_server(silent_server, tmp_path) -> None:
    from kubernetes import client

    kubeconfig = _kubeconfig(tmp_path, f"http://127.0.0.1:{silent_server}", "hung")
    api = api_client(kubeconfig, timeout=1)
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - whichever error the client raises on its timeout
        client.VersionApi(api).get_code()
    assert time.monotonic() - started < 6


def test_kube_client_reports_a_bad_kubeconfig(tmp_path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(KubeConfigError, match=str(missing)):
        api_client(missing)
    empty = tmp_path / "kc"
    empty.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}))
    with pytest.raises(KubeConfigError, match="nosuch"):
        api_client(empty, context="nosuch")


def test_openapi_is_found_from_the_small_v3_index_without_downloading_v2(tmp_path: Path) -> None:
    """A real API server (1.27+) answers /openapi/v3 with a small index; /openapi/v2 is several MB and
    must not be fetched just to learn that OpenAPI exists. A server with neither has none."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked: list[str] = []
    serves: set[str] = {"/openapi/v3"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = b'{"paths": {"api/v1": {}}}' if self.path in serves else b'{"kind": "Status", "code": 404}'
            self.send_response(200 if self.path in serves else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = _kubeconfig(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")
    try:
        assert connect(kubeconfig, timeout=5).publishes_openapi() is True
        assert asked == ["/openapi/v3"]
        serves.clear()
        asked.clear()
        assert connect(kubeconfig, timeout=5).publishes_openapi() is False
        assert asked == ["/openapi/v3", "/openapi/v2"]
    finally:
        server.shutdown()
        server.server_close()
