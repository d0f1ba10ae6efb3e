"""The upgrade-plan step: read what is deployed, render the target profile, write upgrade-plan.json.

It changes nothing. The deployed side is Helm's own record (each release's latest revision, its
manifest and the installer's labels); the target side is the plan built and rendered for the
target profile exactly as an install of it would be.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from installer.deploy import digests
from installer.engine import StepContext, StepFailed
from installer import redact
from installer.files import atomic_write
from installer.upgrade.diff import ReleaseView, UpgradePlan, compare

PLAN_FILE = "upgrade-plan.json"


def with_version(answers: Any, version: str) -> Any:
    """The answers as they would read with release.version set to `version`."""
    return answers.model_copy(update={"release": answers.release.model_copy(update={"version": version})})


def _plan(ctx: StepContext, answers: Any, render: bool) -> Any:
    from installer.plan import PlanError, build_plan, render_plan
    from installer.secretstore import SecretStore

    try:
        plan = build_plan(answers, store=SecretStore(Path(ctx.state_dir), persist=False), outputs=ctx.outputs)
    except PlanError as error:
        raise StepFailed(f"cannot build the plan of release {answers.release.version}: {error}",
                         remediation="check the profile named by --to and release.charts") from None
    if render:
        from installer.adapters.helm import HelmSdkEngine

        with HelmSdkEngine() as engine:
            render_plan(plan, engine)
        failed = plan.render_failures
        if failed:
            raise StepFailed(f"the target does not render: {', '.join(failed)}: "
                             + "; ".join(plan.rendered[n].error or "" for n in failed[:3]),
                             remediation="fix the target profile's values or chart tree")
    return plan


def read_deployed(helm: Any, known: set[tuple[str, str]], install: str,
                  take_over: str | None) -> tuple[dict[str, ReleaseView], list[str], list[dict[str, Any]]]:
    """Our releases as Helm records them: (views, releases another install owns, releases stuck pending)."""
    from installer.adapters.helm import ReleaseNotFound
    from installer.yamlio import load_yaml_all

    views: dict[str, ReleaseView] = {}
    foreign: list[str] = []
    pending: list[dict[str, Any]] = []
    for info in helm.list(all_states=True):
        try:
            history = helm.history(info.name, namespace=info.namespace)
        except ReleaseNotFound:
            continue
        if not history:
            continue
        latest = max(history, key=lambda r: r.revision)
        labels = dict(latest.labels or {})
        ours = labels.get(digests.LABEL_INSTALL) == install
        if not ours and (info.name, info.namespace) not in known:
            continue
        owner = digests.foreign_owner(labels, install, take_over)
        if owner:
            foreign.append(f"{info.namespace}/{info.name} (install '{owner}')")
            continue
        if latest.status.startswith("pending-"):
            settled = [r.revision for r in history if r.status in ("deployed", "superseded")]
            pending.append({"release": info.name, "namespace": info.namespace, "revision": latest.revision,
                            "status": latest.status, "last_deployed": max(settled) if settled else None})
        record = helm.get(info.name, namespace=info.namespace)
        manifest = (record.manifest if record else "") or ""
        views[info.name] = ReleaseView(
            info.name, info.namespace, chart=f"{latest.chart_name}-{latest.chart_version}".strip("-"),
            chart_digest=labels.get(digests.LABEL_CHART_DIGEST, ""),
            values_digest=labels.get(digests.LABEL_VALUES_DIGEST, ""), revision=latest.revision,
            status=latest.status, documents=[d for d in load_yaml_all(manifest) if isinstance(d, dict)])
    return views, foreign, pending


def target_views(plan: Any) -> dict[str, ReleaseView]:
    from installer.adapters.helm import HelmSdkEngine

    views = {}
    with HelmSdkEngine() as engine:
        for release in plan.graph.releases:
            info = engine.load(release.chart)
            views[release.name] = ReleaseView(
                release.name, release.namespace, chart=f"{info.name}-{info.version}",
                chart_digest=digests.label_value(plan.chart_digests[release.name]),
                values_digest=digests.label_value(plan.values_digest(release.name)), module=release.module,
                documents=[d for d in plan.rendered[release.name].documents
                           if "helm.sh/hook" not in ((d.get("metadata") or {}).get("annotations") or {})])
    return views


def build_upgrade_plan(ctx: StepContext, source: str) -> UpgradePlan:
    """Deployed (installed from profile `source`) against the target profile of ctx.answers."""
    from installer.deploy.target import open_cluster
    from installer.profiles import release_profile

    target_answers = ctx.answers
    current = _plan(ctx, with_version(target_answers, source), render=False)
    target = _plan(ctx, target_answers, render=True)
    known = {(r.name, r.namespace) for r in current.graph.releases} | {(r.name, r.namespace)
                                                                         for r in target.graph.releases}
    cluster = open_cluster(ctx)
    try:
        deployed, foreign, pending = read_deployed(cluster.helm, known, target_answers.name,
                                                   getattr(target_answers.target, "take_over_install", None))
    finally:
        cluster.helm.close()
    modules = {r.name: r.module for r in current.graph.releases}
    for name, view in deployed.items():
        view.module = modules.get(name, "")
    from_profile = release_profile(source, target_answers.base_dir)
    to_profile = release_profile(target_answers.release.version, target_answers.base_dir)
    plan = compare(target_answers.name, deployed, target_views(target), from_profile=from_profile.name,
                   to_profile=to_profile.name, from_commit=from_profile.devops_commit,
                   to_commit=to_profile.devops_commit)
    plan.foreign, plan.pending = foreign, pending
    return plan


def plan_text(plan: UpgradePlan) -> str:
    """The plan as an operator reads it: one block per release that changes, then what stops it."""
    lines = [f"upgrade {plan.install}: {plan.from_profile} ({plan.from_commit or 'commit unknown'}) -> "
             f"{plan.to_profile} ({plan.to_commit or 'commit unknown'})"]
    for change in plan.releases:
        if change.action == "unchanged":
            continue
        lines.append(f"  {change.action:8} {change.namespace}/{change.name}")
        if change.chart:
            lines.append(f"           chart {change.chart[0]} -> {change.chart[1]}")
        for image in change.images:
            mark = " (migration: needs the database backup first)" if image.migration else ""
            lines.append(f"           image {image.old or '-'} -> {image.new or '-'}{mark}")
        if change.values_changed:
            lines.append("           values changed")
        for name in change.objects_changed[:8]:
            lines.append(f"           object {name}")
        for finding in change.immutable:
            lines.append(f"           IMMUTABLE {finding.object} {finding.field}: {finding.detail}")
        for finding in change.pvc_growth:
            lines.append(f"           GROW {finding.object}: {finding.old} -> {finding.new} ({finding.detail})")
        for crd in change.crds:
            lines.append(f"           CRD {crd}")
        for reason in change.blocked:
            lines.append(f"           BLOCKED {reason}")
    for name in plan.foreign:
        lines.append(f"  refused  {name}: another install's release")
    for stuck in plan.pending:
        lines.append(f"  pending  {stuck['namespace']}/{stuck['release']} is {stuck['status']} at revision "
                     f"{stuck['revision']}")
    lines.append(f"unchanged: {len(plan.by_action('unchanged'))} release(s)")
    if plan.needs_backup:
        lines.append("point of no return: migrations run with the new images; after that, going back means "
                     "restoring the database backup")
    return "\n".join(lines)


def save_plan(state_dir: Path, plan: UpgradePlan) -> Path:
    path = Path(state_dir) / PLAN_FILE
    atomic_write(path, json.dumps(redact.mask_tree(plan.to_dict()), indent=2, sort_keys=True, default=str))
    return path


ACCEPT_IMMUTABLE_FLAG = "--recreate-immutable"


def upgrade_plan(ctx: StepContext, source: str, stop_on_immutable: bool = False) -> dict[str, Any]:
    """The upgrade-plan step: the plan written to the state dir; blocked swaps stop here, and so do
    immutable-field changes until the operator chooses (ACCEPT_IMMUTABLE_FLAG)."""
    plan = build_upgrade_plan(ctx, source)
    path = save_plan(ctx.state_dir, plan)
    for line in plan_text(plan).splitlines():
        ctx.log(line)
    if plan.foreign:
        raise StepFailed("releases of another install are in the way: " + ", ".join(plan.foreign),
                         remediation="set target.take_over_install to that install's name if it is to be taken over")
    if plan.blocked:
        raise StepFailed("the upgrade cannot be done in place:\n" + "\n".join(f"{n}: {b}" for n, b in plan.blocked),
                         remediation="do what each line says, then rerun the upgrade; nothing was changed")
    if stop_on_immutable and plan.immutable:
        raise StepFailed("Kubernetes refuses these changes in place:\n" + "\n".join(
            f"{n}: {f.object} {f.field}: {f.detail}" for n, f in plan.immutable),
            remediation=f"grow the claims yourself (or move the data), then rerun with {ACCEPT_IMMUTABLE_FLAG} to "
                        "let the upgrade delete those objects keeping their pods and claims (orphan) and make them "
                        "again; nothing was changed")
    return {"plan": str(path), "added": plan.by_action("add"), "removed": plan.by_action("remove"),
            "upgraded": plan.by_action("upgrade"), "needs_backup": plan.needs_backup,
            "immutable": [f"{n}: {f.object} {f.field}" for n, f in plan.immutable]}
