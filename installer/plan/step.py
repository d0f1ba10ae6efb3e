"""The pipeline's `configure` step: the plan's namespaces, secrets and storage, applied through the API.

It builds the same plan as `./install.sh plan`, keeps the generated secrets in the cluster (so any
jump host reuses them), refuses to go on while a value is still pending or a chart fails to render,
and writes the masked plan files into the state directory for the operator and support bundles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from installer.answers import Answers
from installer.adapters.kube import KubeCluster, KubeError
from installer.engine import StepContext, StepFailed
from installer.plan.provisioned import kube_access

PLAN_DIR = "plan"


def configure(ctx: StepContext[Answers]) -> dict[str, Any]:
    """Namespaces, image pull / TLS / git-sync / service secrets, static volumes; generated secrets kept."""
    from installer import redact
    from installer.adapters.helm import HelmSdkEngine
    from installer.plan import PlanError, build_plan, render_plan
    from installer.plan.command import write_plan
    from installer.secretstore import KubeClusterCopy, SecretStore, SecretStoreError

    # A dry run reads the cluster's copy of the generated secrets too (never writes it), so it does
    # not predict "would generate" for values the cluster already keeps.
    from installer.adapters.kube import KubeConfigError, connect

    kubeconfig, context = kube_access(ctx)
    try:
        # A dry run of a provisioned target before its cluster exists has no kubeconfig yet: state dir only.
        api = None if (ctx.dry_run and kubeconfig is None) else connect(kubeconfig, context)
    except KubeConfigError as exc:
        raise StepFailed(f"cannot use the kubeconfig: {exc}",
                         remediation="check target.kubeconfig / target.context in the answers") from None
    store = SecretStore(Path(ctx.state_dir), cluster=KubeClusterCopy(api) if api is not None else None,
                        persist=not ctx.dry_run)
    ctx.progress(0, 3, "phases", "building the plan")
    try:
        plan = build_plan(ctx.answers, store=store, outputs=ctx.outputs)
    except PlanError as exc:
        raise StepFailed(redact.mask(f"the plan cannot be built: {exc}"),
                         remediation=f"fix {exc.key} in the answers file" if exc.key else
                         "run ./install.sh plan --answers FILE --out DIR to see the plan") from None
    except SecretStoreError as exc:
        raise StepFailed(f"generated secrets: {exc}", remediation="check access to the cluster and the state dir") from None
    for key in plan.generated:
        ctx.log(f"would generate {key}" if ctx.dry_run else f"generated {key} (stored in the state dir and in the cluster)")
    if plan.pending:
        listed = "; ".join(f"{p.key} (from {p.source})" for p in plan.pending)
        raise StepFailed(f"values still unknown: {listed}",
                         remediation="run the steps that provide them first (--resume runs them in order)")
    ctx.check_cancelled()
    ctx.progress(1, 3, "phases", f"rendering {len(plan.graph.releases)} releases")
    with HelmSdkEngine() as engine:
        render_plan(plan, engine)
    if plan.render_failures:
        details = "; ".join(f"{n}: {redact.mask(plan.rendered[n].error or '')}" for n in plan.render_failures)
        raise StepFailed(f"{len(plan.render_failures)} chart(s) do not render: {details}",
                         remediation="fix the chart source or the answers; ./install.sh plan shows the same errors")
    plan_dir = Path(ctx.state_dir) / PLAN_DIR
    if not ctx.dry_run:
        write_plan(plan, plan_dir, reveal=False)
    ctx.check_cancelled()

    ctx.progress(2, 3, "phases", f"applying {len(plan.objects)} cluster objects")
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    for index, obj in enumerate(plan.objects):
        ctx.check_cancelled()
        if ctx.dry_run:
            ctx.log(f"would apply {obj.key}")
            continue
        assert api is not None  # only a dry run goes without a cluster
        result = apply_object(api, obj)
        outcome[result].append(obj.key)
        ctx.progress(index + 1, len(plan.objects), "objects", f"{obj.key} {result}", task="objects")
    ctx.progress(3, 3, "phases", "done")
    return {
        "dry_run": bool(ctx.dry_run),
        "releases": len(plan.graph.releases),
        "waves": len(plan.graph.waves),
        "namespaces": plan.graph.namespaces,
        "objects": outcome if not ctx.dry_run else {"planned": [o.key for o in plan.objects]},
        "generated_secrets": sorted(plan.generated),
        "plan_dir": str(plan_dir),
        "storage_class": plan.storage_class,
    }


def apply_object(api: KubeCluster, obj: Any) -> str:
    """Create the object, or bring a Namespace's labels / a Secret's data to the plan's; returns what happened."""

    manifest = obj.manifest
    kind, name, namespace = obj.kind, obj.name, obj.namespace
    if kind not in ("Namespace", "Secret", "StorageClass", "PersistentVolume"):
        raise StepFailed(f"the configure step does not know how to apply a {kind}")
    try:
        if kind == "Secret":
            existing = api.get("Secret", name, namespace)
            if existing is None:
                api.create(manifest)
                return "created"
            if (existing.get("data") or {}) == manifest.get("data") and existing.get("type") in (None, manifest.get("type")):
                return "unchanged"
            api.patch("Secret", name, {"data": manifest.get("data")}, namespace)
            return "updated"
        # A volume's spec is immutable once bound; an existing Namespace, StorageClass or volume is left as it is.
        return "created" if api.create(manifest) else "unchanged"
    except KubeError as exc:
        raise StepFailed(f"cannot apply {obj.key}: {exc}",
                         remediation="check the installer's permissions on the cluster") from None
