"""Cluster objects the configure step applies before any release: namespaces, secrets, storage.

Static PersistentVolumes (SDC VMs without a dynamic provisioner) are derived from the rendered
StatefulSets: each claim a StatefulSet will make (`<template>-<statefulset>-<ordinal>`) that asks
for the static StorageClass gets a PersistentVolume bound to it by claimRef, with the claim's own
size, on a worker node chosen round-robin. Nothing is copied by hand.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installer.plan.values import PULL_SECRET, STATIC_STORAGE_CLASS

INSTALLER_NAMESPACE = "digit-installer"
MANAGED_LABELS = {"app.kubernetes.io/managed-by": "digit-installer"}
# Which install (answers `name`) made a namespace: a second install with another name must not take it over.
INSTALL_LABEL = "digit-installer/install"
VOLUME_ROOT = "digit-volumes"


@dataclass(frozen=True)
class ClusterObject:
    manifest: dict[str, Any]
    holds_secret: bool = False

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        namespace: str | None = self.manifest["metadata"].get("namespace")
        return namespace

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.namespace + '/' if self.namespace else ''}{self.name}"


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(MANAGED_LABELS)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def _secret(name: str, namespace: str, data: dict[str, str], kind: str = "Opaque") -> ClusterObject:
    return ClusterObject({"apiVersion": "v1", "kind": "Secret", "metadata": _meta(name, namespace), "type": kind,
                          "data": {k: _b64(v) for k, v in sorted(data.items())}}, holds_secret=True)


def namespaces(names: list[str], install: str = "") -> list[ClusterObject]:
    def meta(name: str) -> dict[str, Any]:
        found = _meta(name)
        if install:
            found["labels"][INSTALL_LABEL] = install
        return found

    return [ClusterObject({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name)})
            for name in sorted(set(names) | {INSTALLER_NAMESPACE})]


def pull_secrets(answers: Any, namespaces_: list[str], password: str | None) -> list[ClusterObject]:
    registry = answers.registry
    if registry is None or not registry.username:
        return []
    host = registry.mirror.split("/", 1)[0]
    auth = {"username": registry.username, "password": password or "",
            "auth": _b64(f"{registry.username}:{password or ''}")}
    config = json.dumps({"auths": {host: auth}}, sort_keys=True)
    return [_secret(PULL_SECRET, ns, {".dockerconfigjson": config}, "kubernetes.io/dockerconfigjson")
            for ns in sorted(namespaces_)]


def tls_secrets(answers: Any, namespaces_: list[str], key: str | None) -> list[ClusterObject]:
    tls = answers.domain.tls
    if tls.mode != "provided":
        return []
    try:
        cert = Path(tls.cert).read_text(encoding="utf-8")
    except OSError as exc:
        from installer.plan.graph import PlanError

        raise PlanError(f"domain.tls.cert: {tls.cert}: {exc.strerror}", key="domain.tls.cert") from None
    name = f"{answers.domain.fqdn}-tls-certs"
    return [_secret(name, ns, {"tls.crt": cert, "tls.key": key or ""}, "kubernetes.io/tls") for ns in sorted(namespaces_)]


def static_storage(nodes: list[tuple[str, str]], rendered: dict[str, list[dict[str, Any]]]) -> list[ClusterObject]:
    """StorageClass and PersistentVolumes for the claims (StatefulSet templates or plain claims) that ask
    for the static class."""
    claims = []
    for release in sorted(rendered):
        for doc in rendered[release]:
            if doc.get("kind") == "PersistentVolumeClaim":
                spec = doc.get("spec") or {}
                if spec.get("storageClassName") == STATIC_STORAGE_CLASS:
                    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
                    claims.append((doc["metadata"].get("namespace") or "", doc["metadata"]["name"], size,
                                   spec.get("accessModes") or ["ReadWriteOnce"], release))
                continue
            if doc.get("kind") != "StatefulSet":
                continue
            sts = doc["metadata"]["name"]
            namespace = doc["metadata"].get("namespace") or ""
            replicas = int((doc.get("spec") or {}).get("replicas") or 1)
            for template in (doc.get("spec") or {}).get("volumeClaimTemplates") or []:
                spec = template.get("spec") or {}
                if spec.get("storageClassName") != STATIC_STORAGE_CLASS:
                    continue
                size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
                for ordinal in range(replicas):
                    claims.append((namespace, f"{template['metadata']['name']}-{sts}-{ordinal}", size,
                                   spec.get("accessModes") or ["ReadWriteOnce"], release))
    if not claims:
        return []
    nodes = nodes or [("", "/var/lib")]
    objects = [ClusterObject({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": _meta(STATIC_STORAGE_CLASS),
        "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Retain"})]
    for index, (namespace, claim, size, modes, release) in enumerate(claims):
        node_name, data_path = nodes[index % len(nodes)]
        objects.append(ClusterObject({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {**_meta(f"digit-{namespace}-{claim}"[:253]),
                         "labels": {**MANAGED_LABELS, "digit.org/release": release}},
            "spec": {
                "capacity": {"storage": size}, "accessModes": modes,
                "persistentVolumeReclaimPolicy": "Retain", "storageClassName": STATIC_STORAGE_CLASS,
                "claimRef": {"namespace": namespace, "name": claim},
                "hostPath": {"path": f"{data_path.rstrip('/')}/{VOLUME_ROOT}/{namespace}/{claim}",
                             "type": "DirectoryOrCreate"},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name]}]}]}},
            },
        }))
    return objects


def volume_nodes(answers: Any, outputs: dict[str, Any]) -> list[tuple[str, str]]:
    """(Kubernetes node name, data path) of the machines that hold volumes: workers, else any node."""
    provisioned = (outputs.get("provision") or {}).get("node_names") or {}
    nodes = list(getattr(answers.target, "nodes", None) or [])
    workers = [n for n in nodes if n.role == "worker"] or [n for n in nodes if n.role == "control-plane"]
    if not workers:
        return [("", "/var/lib")]
    return [(provisioned.get(n.label, n.label), (n.data_paths or ["/var/lib"])[0]) for n in workers]


def masked_manifest(obj: ClusterObject, mask: str) -> dict[str, Any]:
    if not obj.holds_secret:
        return obj.manifest
    shown = dict(obj.manifest)
    shown["data"] = dict.fromkeys(obj.manifest.get("data") or {}, mask)
    return shown
