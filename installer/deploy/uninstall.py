"""Uninstall: remove what this install deployed, and only that, in reverse dependency order.

What is ours is decided by the cluster, not by the answers: a Helm release is removed only when
its install label (digests.LABEL_INSTALL, set by every deploy) names this install; a release of
another install, or one nobody labelled, is listed as kept and never touched. The order is the
reverse of the release profile's waves (plan.graph.profile_waves), so a release goes before what
it needs; releases the profile does not know (a module dropped since) go first.

Data is kept: Helm does not delete the PersistentVolumeClaims the configure step made or a
StatefulSet's claims, and the database is never dropped here. `data` deletes the claims in this
install's namespaces only when the command was given the install's name as confirmation.
Every step reads the cluster again, so a rerun after kill -9 finishes what is left.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from installer.answers import Answers
from installer.deploy import digests
from installer.deploy.target import Cluster, open_cluster
from installer.engine import StepContext, StepFailed
from installer.plan.objects import INSTALL_LABEL

UNKNOWN_WAVE = 10_000  # releases the profile does not know are removed first
REMOVE_TIMEOUT = 300.0


@dataclass(frozen=True)
class Owned:
    name: str
    namespace: str
    wave: int


@dataclass
class Removal:
    """What an uninstall of `install` would do, read from the cluster."""

    install: str
    releases: list[Owned] = field(default_factory=list)          # in removal order
    kept: list[tuple[str, str, str]] = field(default_factory=list)  # (release, namespace, why)
    claims: list[tuple[str, str]] = field(default_factory=list)     # (namespace, claim) kept unless --delete-data
    namespaces: list[str] = field(default_factory=list)            # labelled with this install

    def describe(self, delete_data: bool, database: str) -> list[str]:
        lines = [f"Uninstall of {self.install!r} will remove {len(self.releases)} Helm release(s), last deployed first:"]
        lines += [f"  {r.namespace}/{r.name}" for r in self.releases] or ["  (none left)"]
        if self.kept:
            lines.append("Kept (not this install's):")
            lines += [f"  {ns}/{name}: {why}" for name, ns, why in self.kept]
        if delete_data:
            lines.append(f"DATA THAT WILL BE DESTROYED: {len(self.claims)} PersistentVolumeClaim(s):")
            lines += [f"  {ns}/{name}" for ns, name in self.claims] or ["  (none)"]
            if database:
                lines.append(f"Kept: the database {database} (the installer never drops it)")
        else:
            lines.append(f"Kept: {len(self.claims)} PersistentVolumeClaim(s) with their volumes"
                         + (" and the database " + database if database else "")
                         + " (--delete-data removes the claims)")
        return lines


def waves_of(answers: Any) -> dict[str, int]:
    """Removal order from the release profile; {} when the profile cannot be read (order by name then)."""
    from installer.plan.graph import PlanError, profile_waves
    from installer.profiles import ProfileError, release_profile

    try:
        return profile_waves(release_profile(answers.release.version, answers.base_dir))
    except (ProfileError, PlanError, OSError):
        return {}


def survey(cluster: Cluster, install: str, waves: dict[str, int]) -> Removal:
    """Every Helm release and claim of `install` in the cluster, and the releases left alone."""
    removal = Removal(install)
    owned = []
    ours_namespaces = {ns["metadata"]["name"] for ns in cluster.api.list("Namespace")
                       if ((ns.get("metadata") or {}).get("labels") or {}).get(INSTALL_LABEL) == install}
    for release in cluster.helm.list(all_states=True):
        owner = _owner(cluster, release.name, release.namespace)
        if owner == install:
            owned.append(Owned(release.name, release.namespace, waves.get(release.name, UNKNOWN_WAVE)))
        elif release.namespace in ours_namespaces:
            why = f"belongs to install {owner!r}" if owner else "carries no install label"
            removal.kept.append((release.name, release.namespace, why))
    removal.releases = sorted(owned, key=lambda r: (-r.wave, r.namespace, r.name))
    removal.namespaces = sorted(ours_namespaces)
    for namespace in removal.namespaces:
        for claim in cluster.api.list("PersistentVolumeClaim", namespace):
            removal.claims.append((namespace, claim["metadata"]["name"]))
    return removal


def _owner(cluster: Cluster, name: str, namespace: str) -> str | None:
    """The install label of the release's latest revision (list answers with storage labels only)."""
    from installer.adapters.helm import ReleaseNotFound

    try:
        history = cluster.helm.history(name, namespace=namespace)
    except ReleaseNotFound:
        return None
    if not history:
        return None
    return (max(history, key=lambda r: r.revision).labels or {}).get(digests.LABEL_INSTALL)


def releases(ctx: StepContext[Answers]) -> dict[str, Any]:
    """Helm-uninstall every release labelled with this install, in reverse dependency order."""
    from installer.adapters.helm import HelmEngineError, ReleaseNotFound

    cluster = open_cluster(ctx)
    try:
        removal = survey(cluster, ctx.answers.name, waves_of(ctx.answers))
        for name, namespace, why in removal.kept:
            ctx.log(f"{namespace}/{name} kept: {why}")
        if ctx.dry_run:
            for release in removal.releases:
                ctx.log(f"would remove {release.namespace}/{release.name}")
            return {"would_remove": [r.name for r in removal.releases]}
        removed: list[str] = []
        total = len(removal.releases)
        ctx.progress(0, total, "releases")
        for index, release in enumerate(removal.releases, 1):
            ctx.check_cancelled()
            try:
                cluster.helm.uninstall(release.name, namespace=release.namespace, timeout=REMOVE_TIMEOUT)
                ctx.task_done(release.name, "succeeded", f"removed from {release.namespace}")
            except ReleaseNotFound:
                ctx.task_done(release.name, "succeeded", "already gone")
            except HelmEngineError as error:
                raise StepFailed(f"removing {release.namespace}/{release.name} failed: {error}",
                                 remediation="fix the cause, then rerun with --resume "
                                             "(releases already removed are not touched again)",
                                 details={"removed": removed}) from None
            removed.append(release.name)
            ctx.progress(index, total, "releases", f"{release.name} removed")
        return {"removed": removed, "kept": [f"{ns}/{name}" for name, ns, _ in removal.kept]}
    finally:
        cluster.helm.close()


def data(ctx: StepContext[Answers]) -> dict[str, Any]:
    """Delete this install's PersistentVolumeClaims (only in a pipeline the named confirmation built)."""
    cluster = open_cluster(ctx)
    try:
        removal = survey(cluster, ctx.answers.name, {})
        if ctx.dry_run:
            return {"would_delete": [f"{ns}/{name}" for ns, name in removal.claims]}
        deleted = []
        for namespace, claim in removal.claims:
            ctx.check_cancelled()
            cluster.api.delete("PersistentVolumeClaim", claim, namespace)
            deleted.append(f"{namespace}/{claim}")
            ctx.task_done(claim, "succeeded", f"claim deleted in {namespace}")
        ctx.warn("the database is not dropped by the installer: drop it on the database server if it must go")
        return {"deleted_claims": deleted}
    finally:
        cluster.helm.close()
