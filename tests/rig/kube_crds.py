"""What a CustomResourceDefinition makes kube-apiserver serve, as pure functions for the emulator.

    problems(crd) -> list[str]                 why kube-apiserver would refuse the CRD (422), if it would
    served(crd) -> {resource: ResourceInfo}    the group/version/plural entries discovery lists
    established(crd) -> status                 the status apiextensions sets once names are accepted
    version_order(versions) -> list            Kubernetes' version priority (v2 > v1 > v1beta2 > v1alpha1 > other)
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from kmock._internal import references

CRDS = references.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def problems(crd: dict[str, Any]) -> list[str]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind = spec.get("group", ""), names.get("plural", ""), names.get("kind", "")
    found = []
    if not group or "." not in group:
        found.append("spec.group: must be a domain with at least one dot")
    if not plural or not _DNS_LABEL.match(plural):
        found.append("spec.names.plural: must be a lowercase DNS label")
    if not kind:
        found.append("spec.names.kind: Required value")
    name = (crd.get("metadata") or {}).get("name", "")
    if name != f"{plural}.{group}":
        found.append(f"metadata.name: Invalid value: {name!r}: must be spec.names.plural+\".\"+spec.group")
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        found.append("spec.scope: Unsupported value: must be Namespaced or Cluster")
    versions = spec.get("versions") or []
    if not versions:
        found.append("spec.versions: Required value")
    if sum(1 for v in versions if v.get("storage")) != 1:
        found.append("spec.versions: Invalid value: must have exactly one version marked as storage version")
    return found


def served(crd: dict[str, Any]) -> dict[references.resource, references.ResourceInfo]:
    spec = crd["spec"]
    names = spec["names"]
    result = {}
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = set((version.get("subresources") or {}).keys())
        result[references.resource(spec["group"], version["name"], names["plural"])] = references.ResourceInfo(
            namespaced=spec["scope"] == "Namespaced",
            kind=names["kind"],
            singular=names.get("singular") or names["kind"].lower(),
            verbs=VERBS,
            shortnames=names.get("shortNames") or [],
            categories=names.get("categories") or [],
            subresources=subresources,
        )
    return result


def established(crd: dict[str, Any]) -> dict[str, Any]:
    now = datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    spec = crd["spec"]
    names = dict(spec["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    storage = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    stored = list(dict.fromkeys([*((crd.get("status") or {}).get("storedVersions") or []), *storage]))
    return {
        "acceptedNames": names,
        "storedVersions": stored,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
    }


def _priority(version: str) -> tuple[int, int, int, str]:
    match = _KUBE_VERSION.match(version)
    if not match:
        return (0, 0, 0, version)
    major, stage, minor = int(match[1]), match[2], int(match[3] or 0)
    rank = {None: 3, "beta": 2, "alpha": 1}[stage]
    return (rank, major, minor, "")


def version_order(versions: set[str] | list[str]) -> list[str]:
    """Highest priority first: GA before beta before alpha, larger numbers first, others alphabetical last."""
    kube = sorted((v for v in versions if _KUBE_VERSION.match(v)), key=_priority, reverse=True)
    return kube + sorted(v for v in versions if not _KUBE_VERSION.match(v))
