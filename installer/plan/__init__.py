"""The deployment plan: releases, order, values, cluster objects and rendered manifests.

    plan = build_plan(answers, state_dir=..., outputs=ctx.outputs, store=SecretStore(...))
    render_plan(plan, engine)          # Helm's real engine, offline; fills plan.rendered
    plan.release_dicts()               # what the deploy step needs per release (values included)
    plan.summary()                     # plan.json content: no secret values
    plan.text()                        # the readable table (plan.txt)

The wizard's review screen, the `plan` command and the configure step all call build_plan, so
they show and apply the same thing. The same answers (and stored secrets) give the same plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer import redact
from installer.plan.addons import addon_overlays
from installer.plan.graph import PlanError, PlannedRelease, ReleaseGraph, build_graph, conditions_for
from installer.plan.objects import (
    ClusterObject,
    namespaces,
    pull_secrets,
    static_storage,
    tls_secrets,
)
from installer.plan.values import (
    DatabaseEndpoint,
    EnvFiles,
    Pending,
    Secrets,
    Sizing,
    build_env_files,
    database_endpoint,
    deep_merge,
    effective_sizing,
    release_values,
    storage_class_for,
    values_digest,
)

__all__ = ["Pending", "Plan", "PlanError", "PlannedRelease", "ReleaseGraph", "RenderedRelease", "build_plan",
           "render_plan"]


@dataclass
class RenderedRelease:
    name: str
    manifests: dict[str, str] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    foreign_hosts: list[str] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None


@dataclass
class Plan:
    name: str
    profile: str
    charts_root: Path
    graph: ReleaseGraph
    sizing: Sizing
    database: DatabaseEndpoint
    env_files: EnvFiles
    values: dict[str, dict[str, Any]]
    chart_digests: dict[str, str]
    secrets: Secrets
    generated: list[str]
    objects: list[ClusterObject]
    storage_class: str | None
    registry: str | None
    rendered: dict[str, RenderedRelease] = field(default_factory=dict)
    _answers: Any = None

    @property
    def pending(self) -> list[Pending]:
        return list(self.env_files.pending)

    @property
    def secret_values(self) -> set[str]:
        return {v for v in self.secrets.values.values() if v}

    def values_digest(self, name: str) -> str:
        return values_digest(self.values[name])

    def unmirrored_images(self, name: str) -> list[str]:
        if not self.registry or name not in self.rendered:
            return []
        return sorted(i for i in self.rendered[name].images if not i.startswith(self.registry + "/"))

    def release_dicts(self) -> list[dict[str, Any]]:
        """Per release: name, chart (absolute), namespace, module, needs, wave, values, digests, timeout."""
        return [{"name": r.name, "chart": str(r.chart), "namespace": r.namespace, "module": r.module,
                 "needs": list(r.waits_for), "wave": r.wave, "values": self.values[r.name],
                 "chart_digest": self.chart_digests[r.name], "values_digest": self.values_digest(r.name),
                 "timeout": r.timeout_seconds}
                for r in self.graph.releases]

    def summary(self) -> dict[str, Any]:
        releases = []
        for r in self.graph.releases:
            entry = r.to_dict()
            entry.pop("chart_path")
            entry["chart_digest"] = self.chart_digests[r.name]
            entry["values_digest"] = self.values_digest(r.name)
            rendered = self.rendered.get(r.name)
            if rendered is not None:
                kinds: dict[str, int] = {}
                for doc in rendered.documents:
                    kinds[doc.get("kind", "?")] = kinds.get(doc.get("kind", "?"), 0) + 1
                entry["rendered"] = {"ok": rendered.error is None, "kinds": dict(sorted(kinds.items())),
                                     "images": rendered.images}
                if rendered.error:
                    entry["rendered"]["error"] = redact.mask(rendered.error)
                unmirrored = self.unmirrored_images(r.name)
                if unmirrored:
                    entry["rendered"]["images_not_from_mirror"] = unmirrored
                if rendered.foreign_hosts:
                    entry["rendered"]["upstream_hosts"] = rendered.foreign_hosts
            releases.append(entry)
        return {
            "name": self.name,
            "release_profile": self.profile,
            "modules": list(self.graph.modules),
            "waves": self.graph.waves,
            "releases": releases,
            "skipped": [{"release": n, "why": why} for n, why in self.graph.skipped],
            "namespaces": self.graph.namespaces,
            "cluster_objects": [o.key for o in self.objects],
            "storage_class": self.storage_class,
            "registry_mirror": self.registry,
            "database": {"host": str(self.database.host), "port": self.database.port, "name": self.database.name,
                         "username": self.database.username, "flyway_username": self.database.flyway_username},
            "pending": [{"key": p.key, "from": p.source} for p in self.pending],
            "warnings": list(self.env_files.warnings),
            "generated_secrets": sorted(self.generated),
        }

    @property
    def render_failures(self) -> list[str]:
        return sorted(n for n, r in self.rendered.items() if r.error)

    def text(self) -> str:
        rows = [("WAVE", "RELEASE", "NAMESPACE", "MODULE", "CHART", "WAITS FOR", "RENDER")]
        for r in self.graph.releases:
            rendered = self.rendered.get(r.name)
            status = "-" if rendered is None else (f"FAILED ({rendered.error_kind})" if rendered.error
                                                   else f"ok, {len(rendered.documents)} objects")
            explicit = ", ".join(r.needs) if r.needs else ""
            implicit = len(set(r.waits_for) - set(r.needs))
            waits = explicit + (f"{' + ' if explicit else ''}{implicit} earlier-module releases" if implicit else "")
            rows.append((str(r.wave), r.name, r.namespace, r.module, r.chart_ref, waits or "-", status))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [f"DIGIT plan for {self.name} ({self.profile}; modules: {', '.join(self.graph.modules)})", ""]
        lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
        lines.append("")
        lines.append(f"{len(self.graph.releases)} releases in {len(self.graph.waves)} waves")
        for name, why in self.graph.skipped:
            lines.append(f"left out: {name} ({why})")
        lines.append(f"database: {self.database.host}:{self.database.port}/{self.database.name} "
                     f"as {self.database.username} (flyway: {self.database.flyway_username})")
        lines.append(f"storage class: {self.storage_class or 'the cluster default'}")
        if self.registry:
            lines.append(f"images from mirror: {self.registry}")
            for name in sorted(self.rendered):
                unmirrored = self.unmirrored_images(name)
                if unmirrored:
                    lines.append(f"  not rewritten in {name}: {', '.join(unmirrored)}")
        lines.append("cluster objects: " + ", ".join(o.key for o in self.objects))
        for warning in self.env_files.warnings:
            lines.append(f"WARNING {warning}")
        for name in sorted(self.rendered):
            if self.rendered[name].foreign_hosts:
                lines.append(f"WARNING {name} still names eGov's own hosts (chart defaults): "
                             + ", ".join(self.rendered[name].foreign_hosts))
        for p in self.pending:
            lines.append(f"PENDING {p.key}: known after {p.source} (rendered with {p.stand_in})")
        for name in self.render_failures:
            lines.append(f"RENDER FAILED {name}: {redact.mask(self.rendered[name].error or '')}")
        from installer.plan.values import NOT_CONFIGURED

        lines.append("not configured (empty in env-secrets.yaml, fill in later): "
                     + "; ".join(f"secrets.{section}.{{{','.join(keys)}}}" for section, keys in NOT_CONFIGURED.items()))
        if self.generated:
            lines.append("generated now (kept in the state dir; configure copies them into the cluster): " + ", ".join(sorted(self.generated)))
        return "\n".join(lines) + "\n"


PLACEHOLDER_SECRET = "placeholder-not-a-secret"


def _resolve(answers: Any, ref: Any, key: str, placeholders: bool = False) -> str | None:
    from installer.answers import SecretUnavailable

    try:
        return answers.secret(ref)
    except SecretUnavailable as exc:
        if placeholders:
            return PLACEHOLDER_SECRET
        raise PlanError(f"{key}: {exc}", key=key) from None


def resolve_secrets(answers: Any, store: Any, placeholders: bool = False) -> tuple[Secrets, list[str]]:
    """Every secret the plan needs: answers references first, the secret store for generated ones.

    With `placeholders`, a reference that cannot be resolved here (an air-gap bundle is built on
    another machine than the site's) renders with a placeholder: image names never depend on it.
    """
    from installer.secretstore import generated_keys

    values: dict[str, str] = {}
    db = answers.database
    for key, ref in (("database.password", getattr(db, "password", None)),
                     ("database.flyway_password", getattr(db, "flyway_password", None)),
                     ("config_repos.ssh_key", answers.config_repos.ssh_key),
                     ("registry.password", answers.registry.password if answers.registry else None),
                     ("domain.tls.key", getattr(answers.domain.tls, "key", None))):
        value = _resolve(answers, ref, key, placeholders) if ref is not None else None
        if value:
            values[key] = value
    known_hosts = answers.config_repos.known_hosts
    if known_hosts is not None:
        try:
            values["config_repos.known_hosts"] = Path(known_hosts).read_text(encoding="utf-8")
        except OSError as exc:
            raise PlanError(f"config_repos.known_hosts: {known_hosts}: {exc.strerror}",
                            key="config_repos.known_hosts") from None
    for key, ref in answers.credentials.model_dump().items():
        ref_obj = getattr(answers.credentials, key)
        if ref_obj is not None and not ref_obj.generate:
            value = _resolve(answers, ref_obj, f"credentials.{key}", placeholders)
            if value:
                values[f"credentials.{key}"] = value
    wanted = generated_keys(answers)
    generated: list[str] = []
    if wanted:
        stored, generated = store.ensure(wanted)
        values.update(stored)
    for value in values.values():
        redact.register(value)
    return Secrets(values), generated


def build_plan(answers: Any, *, store: Any, outputs: dict[str, Any] | None = None,
               placeholder_secrets: bool = False) -> Plan:
    """Everything an install would apply, without touching a cluster (static PVs come with render_plan)."""
    from installer.adapters.helm import HelmEngineError, chart_digest
    from installer.profiles import ProfileError, release_profile, sizing_profile

    outputs = outputs or {}
    try:
        profile = release_profile(answers.release.version, answers.base_dir)
    except ProfileError as exc:
        raise PlanError(str(exc), key="release.version") from None
    try:
        sizing_spec = sizing_profile(answers.sizing.profile, answers.base_dir)
    except ProfileError as exc:
        raise PlanError(str(exc), key="sizing.profile") from None
    charts_root = Path(answers.release.charts)
    if not charts_root.is_dir():
        raise PlanError(f"release.charts: {charts_root} is not a directory", key="release.charts")
    sizing = effective_sizing(answers, sizing_spec)
    graph = build_graph(profile, charts_root, list(answers.release.modules), conditions_for(answers),
                        default_timeout=sizing.release_timeout_seconds)
    secrets, generated = resolve_secrets(answers, store, placeholder_secrets)
    db = database_endpoint(answers, outputs)
    env_files = build_env_files(answers, graph, sizing, db, secrets, outputs)
    storage_class = storage_class_for(answers)
    mirror = answers.registry.mirror if answers.registry else None
    values = {r.name: release_values(r.name, env_files, sizing, storage_class, r.chart, mirror)
              for r in graph.releases}
    for name, overlay in addon_overlays(answers).items():
        if name in values:
            values[name] = deep_merge(values[name], overlay)

    chart_digests: dict[str, str] = {}
    for r in graph.releases:
        try:
            chart_digests[r.name] = chart_digest(r.chart)
        except HelmEngineError as exc:
            raise PlanError(f"release {r.name}: {exc}", key="release.charts") from None

    plan_namespaces = graph.namespaces
    objects = namespaces(plan_namespaces, install=answers.name)
    objects += pull_secrets(answers, plan_namespaces, secrets.optional("registry.password"))
    objects += tls_secrets(answers, plan_namespaces, secrets.optional("domain.tls.key"))
    return Plan(name=answers.name, profile=profile.name, charts_root=charts_root, graph=graph, sizing=sizing,
                database=db, env_files=env_files, values=values, chart_digests=chart_digests, secrets=secrets,
                generated=generated, objects=objects, storage_class=storage_class,
                registry=answers.registry.mirror if answers.registry else None, _answers=answers)


def _images(documents: list[dict[str, Any]]) -> list[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("containers", "initContainers"):
                for container in node.get(key) or []:
                    if isinstance(container, dict) and container.get("image"):
                        found.add(str(container["image"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(documents)
    return sorted(found)


_UPSTREAM_HOST = re.compile(r"\b[a-z0-9][a-z0-9.-]*\.(?:egovernments\.org|digit\.org)\b", re.IGNORECASE)


def _foreign_hosts(documents: list[dict[str, Any]], fqdn: str) -> list[str]:
    """Host names of eGov's own environments left in chart defaults (the install's domain aside)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            found.update(h.lower() for h in _UPSTREAM_HOST.findall(node)
                         if h.lower() != fqdn and not h.lower().endswith("." + fqdn))

    walk(documents)
    return sorted(found)


def render_plan(plan: Plan, engine: Any, outputs: dict[str, Any] | None = None) -> Plan:
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
    answers = plan._answers
    if answers is not None:
        plan.objects = [o for o in plan.objects if o.kind not in ("PersistentVolume", "StorageClass")]
        plan.objects += static_storage(answers, {n: r.documents for n, r in plan.rendered.items()}, outputs or {})
    return plan


_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass",
                   "PersistentVolume", "PriorityClass", "ValidatingWebhookConfiguration",
                   "MutatingWebhookConfiguration", "IngressClass", "APIService"}
