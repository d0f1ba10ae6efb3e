"""The few direct Kubernetes API calls deploy makes besides Helm: the cluster, admin Secrets, ingress address."""
from __future__ import annotations

import base64
from pathlib import Path

from installer.adapters.kube import KubeCluster

REQUEST_TIMEOUT = 10.0
MANAGED_BY = {"app.kubernetes.io/managed-by": "digit-installer"}


def connect_cluster(kubeconfig: Path | None, context: str | None = None) -> KubeCluster:
    """The target cluster; every request gives up after REQUEST_TIMEOUT seconds. Raises KubeConfigError."""
    from installer.adapters.kube import connect

    return connect(kubeconfig, context, timeout=REQUEST_TIMEOUT)


def ensure_namespace(cluster: KubeCluster, name: str) -> None:
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(MANAGED_BY)}})


def ensure_secret(cluster: KubeCluster, namespace: str, name: str, data: dict[str, str]) -> bool:
    """Create the Secret, or bring its data to `data`; True when something changed."""
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
            "data": encoded}
    ensure_namespace(cluster, namespace)
    existing = cluster.get("Secret", name, namespace)
    if existing is None:
        cluster.create(body)
        return True
    if (existing.get("data") or {}) == encoded:
        return False
    cluster.patch("Secret", name, {"data": encoded}, namespace)
    return True


def ingress_addresses(cluster: KubeCluster) -> dict[str, list[str]]:
    """Every Ingress (namespace/name) with the addresses its load balancer status reports."""
    found: dict[str, list[str]] = {}
    for item in cluster.list("Ingress"):
        meta = item.get("metadata") or {}
        entries = ((item.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        found[f"{meta.get('namespace')}/{meta.get('name')}"] = [
            entry.get("ip") or entry.get("hostname") for entry in entries if entry.get("ip") or entry.get("hostname")]
    return found


def ingress_controller_addresses(cluster: KubeCluster) -> list[str]:
    """Addresses of LoadBalancer Services (the ingress controller's), for when Ingresses report none yet."""
    addresses = []
    for item in cluster.list("Service"):
        if (item.get("spec") or {}).get("type") != "LoadBalancer":
            continue
        for entry in ((item.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            if entry.get("ip") or entry.get("hostname"):
                addresses.append(entry.get("ip") or entry.get("hostname"))
    return addresses
