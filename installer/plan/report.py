"""What the plan shows: plan.json (a summary without secret values) and plan.txt (the readable table)."""

from __future__ import annotations

from typing import Any

from installer import redact
from installer.plan.model import Plan
from installer.plan.values import NOT_CONFIGURED


def plan_summary(plan: Plan) -> dict[str, Any]:
    """plan.json: every release, its order, digests and render outcome; no secret values."""
    releases = []
    for r in plan.graph.releases:
        entry = r.to_dict()
        entry.pop("chart_path")
        entry["chart_digest"] = plan.chart_digests[r.name]
        entry["values_digest"] = plan.values_digest(r.name)
        rendered = plan.rendered.get(r.name)
        if rendered is not None:
            kinds: dict[str, int] = {}
            for doc in rendered.documents:
                kinds[doc.get("kind", "?")] = kinds.get(doc.get("kind", "?"), 0) + 1
            entry["rendered"] = {"ok": rendered.error is None, "kinds": dict(sorted(kinds.items())),
                                 "images": rendered.images}
            if rendered.error:
                entry["rendered"]["error"] = redact.mask(rendered.error)
            unmirrored = plan.unmirrored_images(r.name)
            if unmirrored:
                entry["rendered"]["images_not_from_mirror"] = unmirrored
            if rendered.foreign_hosts:
                entry["rendered"]["upstream_hosts"] = rendered.foreign_hosts
        releases.append(entry)
    return {
        "name": plan.name,
        "release_profile": plan.profile,
        "modules": list(plan.graph.modules),
        "waves": plan.graph.waves,
        "releases": releases,
        "skipped": [{"release": n, "why": why} for n, why in plan.graph.skipped],
        "namespaces": plan.graph.namespaces,
        "cluster_objects": [o.key for o in plan.objects],
        "storage_class": plan.storage_class,
        "registry_mirror": plan.registry,
        "database": {"host": str(plan.database.host), "port": plan.database.port, "name": plan.database.name,
                     "username": plan.database.username, "flyway_username": plan.database.flyway_username},
        "pending": [{"key": p.key, "from": p.source} for p in plan.pending],
        "warnings": list(plan.env_files.warnings),
        "generated_secrets": sorted(plan.generated),
    }


def plan_text(plan: Plan) -> str:
    """plan.txt: the readable table and everything an operator should notice."""
    rows = [("WAVE", "RELEASE", "NAMESPACE", "MODULE", "CHART", "WAITS FOR", "RENDER")]
    for r in plan.graph.releases:
        rendered = plan.rendered.get(r.name)
        status = "-" if rendered is None else (f"FAILED ({rendered.error_kind})" if rendered.error
                                               else f"ok, {len(rendered.documents)} objects")
        explicit = ", ".join(r.needs) if r.needs else ""
        implicit = len(set(r.waits_for) - set(r.needs))
        waits = explicit + (f"{' + ' if explicit else ''}{implicit} earlier-module releases" if implicit else "")
        rows.append((str(r.wave), r.name, r.namespace, r.module, r.chart_ref, waits or "-", status))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"DIGIT plan for {plan.name} ({plan.profile}; modules: {', '.join(plan.graph.modules)})", ""]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.append("")
    lines.append(f"{len(plan.graph.releases)} releases in {len(plan.graph.waves)} waves")
    for name, why in plan.graph.skipped:
        lines.append(f"left out: {name} ({why})")
    lines.append(f"database: {plan.database.host}:{plan.database.port}/{plan.database.name} "
                 f"as {plan.database.username} (flyway: {plan.database.flyway_username})")
    lines.append(f"storage class: {plan.storage_class or 'the cluster default'}")
    if plan.registry:
        lines.append(f"images from mirror: {plan.registry}")
        for name in sorted(plan.rendered):
            unmirrored = plan.unmirrored_images(name)
            if unmirrored:
                lines.append(f"  not rewritten in {name}: {', '.join(unmirrored)}")
    lines.append("cluster objects: " + ", ".join(o.key for o in plan.objects))
    for warning in plan.env_files.warnings:
        lines.append(f"WARNING {warning}")
    for name in sorted(plan.rendered):
        if plan.rendered[name].foreign_hosts:
            lines.append(f"WARNING {name} still names eGov's own hosts (chart defaults): "
                         + ", ".join(plan.rendered[name].foreign_hosts))
    for p in plan.pending:
        lines.append(f"PENDING {p.key}: known after {p.source} (rendered with {p.stand_in})")
    for name in plan.render_failures:
        lines.append(f"RENDER FAILED {name}: {redact.mask(plan.rendered[name].error or '')}")
    lines.append("not configured (empty in env-secrets.yaml, fill in later): "
                 + "; ".join(f"secrets.{section}.{{{','.join(keys)}}}" for section, keys in NOT_CONFIGURED.items()))
    if plan.generated:
        lines.append("generated now (kept in the state dir; configure copies them into the cluster): " + ", ".join(sorted(plan.generated)))
    return "\n".join(lines) + "\n"
