"""The upgrade-plan step: read what is deployed, render the target profile, write upgrade-plan.json.

It changes nothing. The deployed side is Helm's own record (each release's latest revision, its
manifest and the installer's labels); the target side is the plan built and rendered for the
target profile exactly as an install of it would be.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installer.answers import Answers
from installer.deploy import digests
from installer.engine import StepContext, StepFailed
from installer import redact
from installer.files import atomic_write
from installer.upgrade.diff import ReleaseView, UpgradePlan, compare

PLAN_FILE = "upgrade-plan.json"


def with_version(answers: Any, version: str) -> Any:
    """The answers as they would read with release.version set to `version`."""
    return answers.model_copy(update={"release": answers.release.model_copy(update={"version": version})})


@dataclass(frozen=True)
class TargetUnfit:
    """Why the install's chart folder and modules cannot make a profile's plan: the charts it lacks (as the
    profile names them, relative to the folder), or another reason."""

    profile: str
    folder: Path
    missing: tuple[str, ...] = ()
    reason: str = ""
    hint: str = ""

    def message(self, shown: int = 4) -> str:
        """A few lines: how many, the first few, what to do (a tree lacking dozens of charts is not listed whole)."""
        if not self.missing:
            return self.reason
        first = ", ".join(self.missing[:shown]) + (f" and {len(self.missing) - shown} more"
                                                    if len(self.missing) > shown else "")
        return (f"{len(self.missing)} chart(s) of {self.profile} missing in {self.folder}: {first}. Put the "
                "profile's chart tree (its DevOps commit) in release.charts, or choose another profile "
                f"(--to PROFILE on the command line){self.hint}")


def target_unfit(answers: Any) -> TargetUnfit | None:
    """What stops the plan of answers' release profile before anything is read from the cluster (None: nothing)."""
    from installer.plan.graph import chart_gap

    gap = chart_gap(answers)
    return None if gap is None else _unfit(gap, answers.release.version)


def _unfit(gap: Any, name: str) -> TargetUnfit:
    """The upgrade's words for a chart gap (plan.graph.ChartGap) of the profile `name`."""
    return TargetUnfit(gap.profile.name if gap.profile is not None else name, gap.folder, gap.charts, gap.reason,
                       gap.hint)


def _plan(ctx: StepContext[Answers], answers: Any, render: bool) -> Any:
    from installer.plan import PlanError, build_plan, render_plan
    from installer.profiles import release_profile
    from installer.secretstore import SecretStore

    try:
        plan = build_plan(answers, store=SecretStore(Path(ctx.state_dir), persist=False), outputs=ctx.outputs)
    except PlanError as error:
        reason = str(error)
        if error.missing:  # the count and the first few, not every chart path
            from installer.plan.graph import chart_gap_of

            profile = release_profile(answers.release.version, answers.base_dir)
            gap = chart_gap_of(profile, Path(answers.release.charts), error)
            reason = _unfit(gap, answers.release.version).message()
        raise StepFailed(f"cannot build the plan of release {answers.release.version}: {reason}",
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


def build_upgrade_plan(ctx: StepContext[Answers], source: str) -> UpgradePlan:
    """Deployed (installed from profile `source`) against the target profile of ctx.answers."""
    from installer.deploy.target import open_cluster
    from installer.profiles import release_profile
    from installer.upgrade.pins import pins_not_rendered

    target_answers = ctx.answers
    current = _plan(ctx, with_version(target_answers, source), render=False)
    target = _plan(ctx, target_answers, render=True)
    known = {(r.name, r.namespace) for r in current.graph.releases} | {(r.name, r.namespace)
                                                                         for r in target.graph.releases}
    cluster = open_cluster(ctx)
    try:
        deployed, foreign, pending = read_deployed(cluster.helm, known, target_answers.name,
                                                   getattr(target_answers.target, "take_over_install", None))
        views = target_views(target)
        unowned = find_unowned(cluster.api, {n: v for n, v in views.items() if n not in deployed})
    finally:
        cluster.helm.close()
    modules = {r.name: r.module for r in current.graph.releases}
    for name, view in deployed.items():
        view.module = modules.get(name, "")
    from_profile = release_profile(source, target_answers.base_dir)
    to_profile = release_profile(target_answers.release.version, target_answers.base_dir)
    plan = compare(target_answers.name, deployed, views, from_profile=from_profile.name,
                   to_profile=to_profile.name, from_commit=from_profile.devops_commit,
                   to_commit=to_profile.devops_commit)
    plan.foreign, plan.pending, plan.unowned = foreign, pending, unowned
    plan.pins_not_rendered = pins_not_rendered(
        to_profile, (image for rendered in target.rendered.values() for image in rendered.images), target.registry)
    return plan


HELM_MANAGED_BY = ("app.kubernetes.io/managed-by", "Helm")
HELM_RELEASE_NAME = "meta.helm.sh/release-name"
HELM_RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"


def find_unowned(api: Any, releases: dict[str, ReleaseView]) -> list[dict[str, str]]:
    """Objects a release about to be installed would make that exist already without Helm's ownership
    (egov-deployer's `helm template | kubectl apply`): Helm refuses them unless they are adopted."""
    from installer.adapters.kube import KubeError

    found = []
    for name, view in sorted(releases.items()):
        for doc in view.documents:
            meta = doc.get("metadata") or {}
            kind, object_name = doc.get("kind"), meta.get("name")
            namespace = None if kind in _CLUSTER_SCOPED else (meta.get("namespace") or view.namespace)
            try:
                live = api.get(kind, object_name, namespace)
            except (KubeError, KeyError, ValueError):
                continue  # a kind this API does not serve: Helm will say so
            if live is None:
                continue
            live_meta = live.get("metadata") or {}
            annotations = live_meta.get("annotations") or {}
            if (live_meta.get("labels") or {}).get(HELM_MANAGED_BY[0]) == HELM_MANAGED_BY[1] and \
                    annotations.get(HELM_RELEASE_NAME) == name and annotations.get(HELM_RELEASE_NAMESPACE) == view.namespace:
                continue  # adopted already (an earlier, interrupted run)
            found.append({"release": name, "release_namespace": view.namespace, "kind": str(kind),
                          "namespace": namespace or "", "name": str(object_name), "uid": str(live_meta.get("uid", "")),
                          "owner": str(annotations.get(HELM_RELEASE_NAME, ""))})
    return found


_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass",
                   "PersistentVolume", "PriorityClass", "IngressClass"}


# The plan's own last line when migrations run (line mode says it in fuller words before its last question).
POINT_OF_NO_RETURN_LINE = ("point of no return: migrations run with the new images; after that, going back means "
                           "restoring the database backup")


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
    for obj in plan.unowned:
        lines.append(f"  adopt    {obj['kind']}/{obj['namespace']}/{obj['name']} into release {obj['release']} "
                     f"(applied without Helm; uid {obj['uid']})")
    for stuck in plan.pending:
        lines.append(f"  pending  {stuck['namespace']}/{stuck['release']} is {stuck['status']} at revision "
                     f"{stuck['revision']}")
    lines.append(f"unchanged: {len(plan.by_action('unchanged'))} release(s)")
    if plan.needs_backup:
        lines.append(POINT_OF_NO_RETURN_LINE)
    return "\n".join(lines)


def pin_warning(profile: str, pinned: str, rendered: list[str]) -> str:
    """A pin the target's charts do not render, said the same way by the plan step, the wizard and line mode."""
    return (f"{profile} pins {pinned}, but its charts render {', '.join(rendered)}: the upgrade does not install "
            "the pinned image. A profile's images list what it installs and set nothing; set the tag in its "
            "release_values (release -> chart values, e.g. egov-user: {egov-user: {image: {tag: ...}}}).")


def save_plan(state_dir: Path, plan: UpgradePlan) -> Path:
    path = Path(state_dir) / PLAN_FILE
    atomic_write(path, json.dumps(redact.mask_tree(plan.to_dict()), indent=2, sort_keys=True, default=str))
    return path


ACCEPT_IMMUTABLE_FLAG = "--recreate-immutable"
ADOPT_FLAG = "--adopt"


def upgrade_plan(ctx: StepContext[Answers], source: str, stop_on_immutable: bool = False,
                 stop_on_unowned: bool = False) -> dict[str, Any]:
    """The upgrade-plan step: the plan written to the state dir; blocked swaps stop here, and so do
    immutable-field changes until the operator chooses (ACCEPT_IMMUTABLE_FLAG)."""
    plan = build_upgrade_plan(ctx, source)
    path = save_plan(ctx.state_dir, plan)
    for line in plan_text(plan).splitlines():
        ctx.log(line)
    for pinned, rendered in plan.pins_not_rendered:
        ctx.warn(pin_warning(plan.to_profile, pinned, rendered))
    if plan.foreign:
        raise StepFailed("releases of another install are in the way: " + ", ".join(plan.foreign),
                         remediation="set target.take_over_install to that install's name if it is to be taken over")
    if plan.blocked:
        raise StepFailed("the upgrade cannot be done in place:\n" + "\n".join(f"{n}: {b}" for n, b in plan.blocked),
                         remediation="do what each line says, then rerun the upgrade; nothing was changed")
    owned_elsewhere = [o for o in plan.unowned if o["owner"] and o["owner"] != o["release"]]
    if owned_elsewhere:
        raise StepFailed("objects belong to another Helm release: " + ", ".join(
            f"{o['kind']}/{o['namespace']}/{o['name']} ({o['owner']})" for o in owned_elsewhere),
            remediation="remove or rename them, then rerun; nothing was changed")
    if stop_on_unowned and plan.unowned:
        raise StepFailed(f"{len(plan.unowned)} object(s) were applied without Helm and would be refused by it: "
                         + ", ".join(f"{o['kind']}/{o['namespace']}/{o['name']}" for o in plan.unowned[:10]),
                         remediation=f"rerun with {ADOPT_FLAG} to give them Helm's ownership labels and annotations "
                                     "(nothing is deleted or made again); nothing was changed")
    if stop_on_immutable and plan.immutable:
        raise StepFailed("Kubernetes refuses these changes in place:\n" + "\n".join(
            f"{n}: {f.object} {f.field}: {f.detail}" for n, f in plan.immutable),
            remediation="delete each object named keeping its pods and claims (kubectl delete statefulset NAME "
                        "--cascade=orphan), grow its claims when the plan says so (an expandable StorageClass), "
                        f"then rerun with {ACCEPT_IMMUTABLE_FLAG} so Helm makes them again; nothing was changed")
    return {"plan": str(path), "added": plan.by_action("add"), "removed": plan.by_action("remove"),
            "upgraded": plan.by_action("upgrade"), "needs_backup": plan.needs_backup,
            "immutable": [f"{n}: {f.object} {f.field}" for n, f in plan.immutable], "unowned": plan.unowned}


def upgrade_adopt(ctx: StepContext[Answers]) -> dict[str, Any]:
    """Give the objects the plan found without Helm's ownership Helm's label and annotations, so the
    releases about to be installed take them over in place (same uid: nothing deleted or made again)."""
    from installer.deploy.target import open_cluster

    unowned = (ctx.outputs.get("upgrade-plan") or {}).get("unowned") or []
    if not unowned:
        return {"adopted": []}
    adopted = []
    cluster = open_cluster(ctx)
    try:
        for obj in unowned:
            cluster.api.patch(obj["kind"], obj["name"], {"metadata": {
                "labels": {HELM_MANAGED_BY[0]: HELM_MANAGED_BY[1]},
                "annotations": {HELM_RELEASE_NAME: obj["release"], HELM_RELEASE_NAMESPACE: obj["release_namespace"]}}},
                obj["namespace"] or None)
            adopted.append(f"{obj['kind']}/{obj['namespace']}/{obj['name']}")
            ctx.log(f"adopted {adopted[-1]} into release {obj['release']}")
    finally:
        cluster.helm.close()
    return {"adopted": adopted}
