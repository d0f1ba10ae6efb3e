"""build_plan: everything an install would apply, from the answers, the profiles and the secret store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from installer.plan.addons import addon_overlays
from installer.plan.graph import PlanError, build_graph, conditions_for
from installer.plan.model import Plan
from installer.plan.objects import namespaces, pull_secrets, tls_secrets, volume_nodes
from installer.plan.secrets import resolve_secrets
from installer.plan.values import (
    build_env_files,
    database_endpoint,
    deep_merge,
    effective_sizing,
    release_values,
    storage_class_for,
)


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
    for spec in profile.releases:  # what the release profile pins (image tags, settings) wins
        if spec.values and spec.name in values:
            values[spec.name] = deep_merge(values[spec.name], spec.values)

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
                registry=answers.registry.mirror if answers.registry else None,
                volume_nodes=volume_nodes(answers, outputs))
