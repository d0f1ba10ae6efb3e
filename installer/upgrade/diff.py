"""What an upgrade would change: the deployed releases against the target profile's rendered plan.

Pure data in, data out (no cluster, no Helm), so every rule here is tested on plain manifests.
Kubernetes refuses some changes outright (a StatefulSet's volumeClaimTemplates, any workload's
selector), a PVC only grows, CRDs are never upgraded by Helm from `crds/`, and DIGIT's backbone
swaps (Elasticsearch 6 -> 8, Kafka with ZooKeeper -> KRaft) cannot be done in place: those are
named here, with what the operator must do, before anything changes.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from installer.plan.render import manifest_images

# Backbone families whose new major version cannot open the old one's data in place.
_BACKBONE_FAMILIES = {
    "elasticsearch": "Elasticsearch {old} -> {new} cannot open the old indices in place: start a new cluster beside "
                     "the old one (eGov used an `es-upgrade` namespace), reindex, switch the services' endpoint, "
                     "then remove the old release; rerun the upgrade afterwards",
    "kafka": "Kafka {old} -> {new} (ZooKeeper to KRaft) cannot be upgraded in place: drain consumer lag, stand up "
             "the KRaft cluster beside the old one, move producers and consumers, then remove the old release; "
             "rerun the upgrade afterwards",
    "zookeeper": "ZooKeeper goes away with Kafka's KRaft mode: move Kafka first (see its line), then remove the "
                 "ZooKeeper release; rerun the upgrade afterwards",
}
# Image names (the last path part) of each family; egovio's kafka-pipeline services are not Kafka.
_FAMILY_IMAGES = {"elasticsearch": {"elasticsearch", "elasticsearch-oss"}, "kafka": {"kafka", "cp-kafka"},
                  "zookeeper": {"zookeeper", "cp-zookeeper"}}
_MIGRATION_CONTAINER = re.compile(r"(db-migration|flyway|-migration)$")


@dataclass
class ReleaseView:
    """One release as deployed (a Helm revision's manifest) or as the target renders it."""

    name: str
    namespace: str
    chart: str = ""                 # name-version
    chart_digest: str = ""          # shortened label value, when known
    values_digest: str = ""
    module: str = ""
    revision: int | None = None
    status: str = ""
    documents: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ImageChange:
    repository: str
    old: str | None
    new: str | None
    migration: bool = False


@dataclass
class Finding:
    """An object-level change Kubernetes or Helm will not simply apply."""

    object: str      # Kind/namespace/name
    field: str
    old: Any
    new: Any
    detail: str = ""


@dataclass
class ReleaseChange:
    name: str
    namespace: str
    action: str                      # add | remove | upgrade | unchanged
    module: str = ""
    revision: int | None = None
    chart: tuple[str, str] | None = None
    values_changed: bool = False
    images: list[ImageChange] = field(default_factory=list)
    objects_changed: list[str] = field(default_factory=list)
    immutable: list[Finding] = field(default_factory=list)
    pvc_growth: list[Finding] = field(default_factory=list)
    crds: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @property
    def migration_images(self) -> list[ImageChange]:
        return [i for i in self.images if i.migration]


@dataclass
class UpgradePlan:
    install: str
    from_profile: str
    to_profile: str
    from_commit: str | None
    to_commit: str | None
    releases: list[ReleaseChange] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)        # releases another install owns
    unowned: list[dict[str, str]] = field(default_factory=list)  # objects no Helm release owns (adoption)
    pending: list[dict[str, Any]] = field(default_factory=list)  # releases stuck in pending-*
    # images the target profile pins that its charts render otherwise: (pinned, rendered); a warning
    pins_not_rendered: list[tuple[str, list[str]]] = field(default_factory=list)

    def by_action(self, action: str) -> list[str]:
        return sorted(r.name for r in self.releases if r.action == action)

    @property
    def needs_backup(self) -> bool:
        return any(r.migration_images for r in self.releases) or bool(self.by_action("add"))

    @property
    def immutable(self) -> list[tuple[str, Finding]]:
        return [(r.name, f) for r in self.releases for f in r.immutable]

    @property
    def blocked(self) -> list[tuple[str, str]]:
        return [(r.name, b) for r in self.releases for b in r.blocked]

    @property
    def changes_anything(self) -> bool:
        return any(r.action != "unchanged" for r in self.releases) or bool(self.unowned)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for release, change in zip(data["releases"], self.releases, strict=False):
            release["migration_images"] = [asdict(i) for i in change.migration_images]
        data.update(added=self.by_action("add"), removed=self.by_action("remove"), upgraded=self.by_action("upgrade"),
                    unchanged=self.by_action("unchanged"), needs_backup=self.needs_backup,
                    point_of_no_return=("after the first migration (-db) image runs, going back means restoring "
                                        "the database backup as well as rolling back the releases")
                    if self.needs_backup else "")
        return data


# --- reading manifests ----------------------------------------------------------------------------
def _key(doc: dict[str, Any], namespace: str) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind')}/{meta.get('namespace') or namespace}/{meta.get('name')}"


def _objects(view: ReleaseView) -> dict[str, dict[str, Any]]:
    return {_key(d, view.namespace): d for d in view.documents if isinstance(d, dict) and d.get("kind")}


def _repository(image: str) -> str:
    name = image.split("@", 1)[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    base = name[:colon] if colon > slash else name
    return base.rsplit("/", 1)[-1]  # a mirror's prefix is not a change of image


def _migration_images(documents: list[dict[str, Any]]) -> set[str]:
    """Images that run Flyway: DIGIT's `<service>-db` images in a db-migration init container."""
    found: set[str] = set()
    for doc in documents:
        stack: list[Any] = [doc]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for container in node.get("initContainers") or []:
                    if isinstance(container, dict) and container.get("image") and (
                            _MIGRATION_CONTAINER.search(str(container.get("name", "")))
                            or _repository(str(container["image"])).endswith("-db")):
                        found.add(_repository(str(container["image"])))
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return found


def image_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[ImageChange]:
    """Each image that differs between two revisions. A migration is marked only where the target runs the
    image: a removed release, or a migration container the target drops, migrates nothing, so it neither needs
    the backup nor belongs among the migrations past the point of no return."""
    before = {_repository(i): i for i in manifest_images(old)}
    after = {_repository(i): i for i in manifest_images(new)}
    migrations = _migration_images(old) | _migration_images(new)
    changes = []
    for repo in sorted(set(before) | set(after)):
        if before.get(repo, "").rsplit("/", 1)[-1] != after.get(repo, "").rsplit("/", 1)[-1]:
            changes.append(ImageChange(repo, before.get(repo), after.get(repo), repo in migrations and repo in after))
    return changes


_UNITS = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(text: Any) -> float | None:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kMGT]i?|)\s*", str(text or ""))
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _storage(spec: dict[str, Any]) -> Any:
    return ((spec.get("resources") or {}).get("requests") or {}).get("storage")


def immutable_findings(old: ReleaseView, new: ReleaseView) -> tuple[list[Finding], list[Finding], list[str], list[str]]:
    """(immutable changes, PVCs that must grow, changed CRDs, changed objects) between two revisions."""
    immutable: list[Finding] = []
    growth: list[Finding] = []
    crds: list[str] = []
    changed: list[str] = []
    before, after = _objects(old), _objects(new)
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            changed.append(key)
            if b is not None and b.get("kind") == "CustomResourceDefinition":
                crds.append(f"{key} (new)")
            continue
        if _canonical(a) == _canonical(b):
            continue
        changed.append(key)
        kind = b.get("kind")
        sa, sb = a.get("spec") or {}, b.get("spec") or {}
        if kind == "CustomResourceDefinition":
            crds.append(key)
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job") and \
                _canonical(sa.get("selector")) != _canonical(sb.get("selector")):
            immutable.append(Finding(key, "spec.selector", sa.get("selector"), sb.get("selector"),
                                     "Kubernetes refuses a changed selector; the object must be deleted and made again"))
        if kind == "StatefulSet":
            old_t: dict[Any, Any] = {(t.get("metadata") or {}).get("name"): t.get("spec") for t in sa.get("volumeClaimTemplates") or []}
            new_t: dict[Any, Any] = {(t.get("metadata") or {}).get("name"): t.get("spec") for t in sb.get("volumeClaimTemplates") or []}
            if _canonical(old_t) != _canonical(new_t):
                immutable.append(Finding(key, "spec.volumeClaimTemplates", old_t, new_t,
                                         "Kubernetes refuses any change to a StatefulSet's volumeClaimTemplates"))
                for name in sorted(set(old_t) & set(new_t)):
                    was, wants = quantity(_storage(old_t[name] or {})), quantity(_storage(new_t[name] or {}))
                    if was is not None and wants is not None and wants > was:
                        growth.append(Finding(f"{key} claims {name}-*", "resources.requests.storage",
                                              _storage(old_t[name]), _storage(new_t[name]),
                                              "each existing claim must be grown (an expandable StorageClass)"))
            if sa.get("serviceName") != sb.get("serviceName"):
                immutable.append(Finding(key, "spec.serviceName", sa.get("serviceName"), sb.get("serviceName"),
                                         "Kubernetes refuses a changed serviceName"))
        if kind == "PersistentVolumeClaim":
            was, wants = quantity(_storage(sa)), quantity(_storage(sb))
            if was is not None and wants is not None and wants > was:
                growth.append(Finding(key, "spec.resources.requests.storage", _storage(sa), _storage(sb),
                                      "a claim only grows, and only with an expandable StorageClass"))
            elif was is not None and wants is not None and wants < was:
                immutable.append(Finding(key, "spec.resources.requests.storage", _storage(sa), _storage(sb),
                                         "a claim never shrinks"))
    return immutable, growth, crds, changed


def _major(image: str) -> str:
    tag = image.split("@", 1)[0].rsplit(":", 1)[-1] if ":" in image.split("@", 1)[0].rsplit("/", 1)[-1] else ""
    match = re.match(r"v?(\d+)", tag)
    return match.group(1) if match else tag


def _family(repository: str) -> str | None:
    return next((f for f, names in _FAMILY_IMAGES.items() if repository in names), None)


def backbone_swaps(change: ReleaseChange) -> list[str]:
    """Family-level major changes that need a side-by-side migration, with the operator's steps."""
    reasons = []
    for image in change.images:
        family = _family(image.repository)
        if family and image.old and image.new and _major(image.old) != _major(image.new):
            reasons.append(_BACKBONE_FAMILIES[family].format(old=image.old, new=image.new))
    return reasons


def compare(install: str, deployed: dict[str, ReleaseView], target: dict[str, ReleaseView], *,
            from_profile: str, to_profile: str, from_commit: str | None = None,
            to_commit: str | None = None) -> UpgradePlan:
    """Every release of either side with what the upgrade would do to it."""
    plan = UpgradePlan(install, from_profile, to_profile, from_commit, to_commit)
    for name in sorted(set(deployed) | set(target)):
        old, new = deployed.get(name), target.get(name)
        if old is None:
            assert new is not None
            change = ReleaseChange(name, new.namespace, "add", module=new.module,
                                   images=image_changes([], new.documents))
            _, _, change.crds, _ = immutable_findings(ReleaseView(name, new.namespace), new)
        elif new is None:
            change = ReleaseChange(name, old.namespace, "remove", module=old.module, revision=old.revision,
                                   images=image_changes(old.documents, []))
            families = sorted({f for i in change.images if (f := _family(i.repository))})
            if families:
                change.blocked.append(f"{name} ({', '.join(families)}) goes away in {to_profile}: its data must be "
                                      "moved to the release that replaces it before it is removed; "
                                      + _BACKBONE_FAMILIES[families[0]].format(old="(deployed)", new="(target)"))
        else:
            change = ReleaseChange(name, new.namespace, "unchanged", module=new.module, revision=old.revision)
            if old.chart and new.chart and old.chart != new.chart:
                change.chart = (old.chart, new.chart)
            elif old.chart_digest and new.chart_digest and old.chart_digest != new.chart_digest:
                change.chart = (f"{old.chart} ({old.chart_digest[:12]})", f"{new.chart} ({new.chart_digest[:12]})")
            change.values_changed = bool(old.values_digest and new.values_digest
                                         and old.values_digest != new.values_digest)
            change.images = image_changes(old.documents, new.documents)
            change.immutable, change.pvc_growth, change.crds, change.objects_changed = immutable_findings(old, new)
            change.blocked = backbone_swaps(change)
            if change.objects_changed or change.chart or old.status != "deployed":
                change.action = "upgrade"
        plan.releases.append(change)
    return plan
