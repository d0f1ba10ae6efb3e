"""The few direct Kubernetes API calls deploy makes besides Helm: clients, admin Secrets, ingress address."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

REQUEST_TIMEOUT = 10.0


def api_client(kubeconfig: Path | None, context: str | None = None) -> Any:
    """The shared client factory's ApiClient: every call has a timeout."""
    from installer.adapters.kube import api_client as make_client

    return make_client(kubeconfig, context, timeout=REQUEST_TIMEOUT)


def publishes_openapi(client: Any) -> bool:
    """False for API servers without an OpenAPI document (the test emulator); Helm must not validate there."""
    method, url, headers, body, post = client.param_serialize("GET", "/openapi/v2", auth_settings=["BearerToken"])
    response = client.call_api(method, url, header_params=headers, _request_timeout=REQUEST_TIMEOUT)
    return response.status < 400


def ensure_namespace(client: Any, name: str) -> None:
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    core = k8s.CoreV1Api(client)
    try:
        core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": name, "labels": {"app.kubernetes.io/managed-by": "digit-installer"}}},
            _request_timeout=REQUEST_TIMEOUT)
    except ApiException as error:
        if error.status != 409:
            raise


def ensure_secret(client: Any, namespace: str, name: str, data: dict[str, str]) -> bool:
    """Create the Secret, or bring its data to `data`; True when something changed."""
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    core = k8s.CoreV1Api(client)
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "digit-installer"}},
            "data": encoded}
    ensure_namespace(client, namespace)
    try:
        existing = core.read_namespaced_secret(name, namespace, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as error:
        if error.status != 404:
            raise
        core.create_namespaced_secret(namespace, body, _request_timeout=REQUEST_TIMEOUT)
        return True
    if (existing.data or {}) == encoded:
        return False
    core.patch_namespaced_secret(name, namespace, {"data": encoded}, _request_timeout=REQUEST_TIMEOUT)
    return True


def ingress_addresses(client: Any) -> dict[str, list[str]]:
    """Every Ingress (namespace/name) with the addresses its load balancer status reports."""
    import json

    from kubernetes import client as k8s

    networking = k8s.NetworkingV1Api(client)
    response = networking.list_ingress_for_all_namespaces(_preload_content=False, _request_timeout=REQUEST_TIMEOUT)
    found: dict[str, list[str]] = {}
    for item in json.loads(response.data).get("items") or []:
        meta = item.get("metadata") or {}
        entries = ((item.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        found[f"{meta.get('namespace')}/{meta.get('name')}"] = [
            entry.get("ip") or entry.get("hostname") for entry in entries if entry.get("ip") or entry.get("hostname")]
    return found


def ingress_controller_addresses(client: Any) -> list[str]:
    """Addresses of LoadBalancer Services (the ingress controller's), for when Ingresses report none yet."""
    import json

    from kubernetes import client as k8s

    core = k8s.CoreV1Api(client)
    response = core.list_service_for_all_namespaces(_preload_content=False, _request_timeout=REQUEST_TIMEOUT)
    addresses = []
    for item in json.loads(response.data).get("items") or []:
        if (item.get("spec") or {}).get("type") != "LoadBalancer":
            continue
        for entry in ((item.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            if entry.get("ip") or entry.get("hostname"):
                addresses.append(entry.get("ip") or entry.get("hostname"))
    return addresses
