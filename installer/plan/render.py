"""render_plan: every release through Helm's real engine, offline, and what the manifests reveal."""

from __future__ import annotations

import re
from typing import Any
from collections.abc import Iterator

from installer.plan.model import Plan, RenderedRelease
from installer.plan.objects import static_storage


def _nodes(tree: Any) -> Iterator[Any]:
    """Every mapping, list and scalar inside a parsed manifest tree, depth first."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def manifest_images(documents: list[dict[str, Any]]) -> list[str]:
    """Every container and init container image the manifests run (a deployed revision's or a rendered one's)."""
    return _images(documents)


def _images(documents: list[dict[str, Any]]) -> list[str]:
    """Every container and init container image the manifests run."""
    found = {str(container["image"])
             for node in _nodes(documents) if isinstance(node, dict)
             for key in ("containers", "initContainers")
             for container in node.get(key) or [] if isinstance(container, dict) and container.get("image")}
    return sorted(found)


_UPSTREAM_HOST = re.compile(r"\b[a-z0-9][a-z0-9.-]*\.(?:egovernments\.org|digit\.org)\b", re.IGNORECASE)


def _foreign_hosts(documents: list[dict[str, Any]], fqdn: str) -> list[str]:
    """Host names of eGov's own environments left in chart defaults (the install's domain aside)."""
    found = {host.lower() for node in _nodes(documents) if isinstance(node, str)
             for host in _UPSTREAM_HOST.findall(node)
             if host.lower() != fqdn and not host.lower().endswith("." + fqdn)}
    return sorted(found)


def render_plan(plan: Plan, engine: Any) -> Plan:
    """Render every release with Helm's engine; failures are recorded per release, not raised."""
    from installer.adapters.helm import HelmEngineError
    from installer.yamlio import load_yaml_all

    for r in plan.graph.releases:
        rendered = RenderedRelease(r.name)
        try:
            rendered.manifests = engine.render(r.chart, plan.values[r.name], release=r.name, namespace=r.namespace)
        except HelmEngineError as exc:
            rendered.error, rendered.error_kind = str(exc), exc.kind
        else:
            for path, text in sorted(rendered.manifests.items()):
                if path.endswith("NOTES.txt") or not text.strip():
                    continue
                try:
                    rendered.documents += [d for d in load_yaml_all(text) if isinstance(d, dict)]
                except Exception as exc:
                    rendered.error, rendered.error_kind = f"{path}: rendered YAML does not parse: {exc}", "render"
            for doc in rendered.documents:
                meta = doc.get("metadata")
                if isinstance(meta, dict) and not meta.get("namespace") and doc.get("kind") not in _CLUSTER_SCOPED:
                    meta["namespace"] = r.namespace
            rendered.images = _images(rendered.documents)
            rendered.foreign_hosts = _foreign_hosts(rendered.documents, plan.env_files.env["global"]["domain"])
        plan.rendered[r.name] = rendered
    plan.objects = [o for o in plan.objects if o.kind not in ("PersistentVolume", "StorageClass")]
    plan.objects += static_storage(plan.volume_nodes, {n: r.documents for n, r in plan.rendered.items()})
    return plan


_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass",
                   "PersistentVolume", "PriorityClass", "ValidatingWebhookConfiguration",
                   "MutatingWebhookConfiguration", "IngressClass", "APIService"}
