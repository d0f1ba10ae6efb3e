"""The `storage` step for bare VMs: host directories for the plan's static PersistentVolumes.

The plan (rendered offline, as `./install.sh plan` does) names each static volume's node and path. Here
each path is created on its node over SSH with the owner the workload runs as (the pod's runAsUser and
fsGroup, 1000 when the chart names none) and mode 0770, after checking the node has room for the
volumes' sizes. A marker file in each directory names the install and the claim; a directory whose
marker names another install or claim is refused, never emptied or reused. Which provisioner is used
(here: static volumes, StorageClass `digit-static`, no dynamic provisioner) is in the plan's output.
"""
from __future__ import annotations

import re
import shlex
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from installer.answers import Answers
from installer import redact
from installer.engine import StepContext, StepFailed
from installer.provision.config import Member, members
from installer.provision.nodes import NodeError

MARKER = ".digit-installer-volume"
DEFAULT_UID = 1000
MODE = "0770"
_UNITS = {"": 1, "k": 1000, "m": 1000 ** 2, "g": 1000 ** 3, "t": 1000 ** 4,
          "ki": 1024, "mi": 1024 ** 2, "gi": 1024 ** 3, "ti": 1024 ** 4}


@dataclass(frozen=True)
class Volume:
    node_name: str  # Kubernetes node name
    path: str
    claim: str  # namespace/name
    size_bytes: int
    uid: int
    gid: int


@dataclass(frozen=True)
class StorageOutput:
    provisioner: str
    storage_class: str
    directories: dict[str, list[str]] = field(default_factory=dict)  # node label -> paths
    created: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def quantity_bytes(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGTkmgt]i?)?\s*", str(text))
    if not match:
        return 0
    return int(float(match[1]) * _UNITS[(match[2] or "").lower()])


def _owners(rendered: dict[str, list[dict[str, Any]]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(namespace, claim) -> (uid, gid) from each StatefulSet's pod securityContext."""
    owners = {}
    for documents in rendered.values():
        for doc in documents:
            if doc.get("kind") != "StatefulSet":
                continue
            spec = doc.get("spec") or {}
            pod = ((spec.get("template") or {}).get("spec") or {})
            context = pod.get("securityContext") or {}
            containers = pod.get("containers") or [{}]
            uid = context.get("runAsUser") or (containers[0].get("securityContext") or {}).get("runAsUser") or DEFAULT_UID
            gid = context.get("fsGroup") or context.get("runAsGroup") or uid
            for template in spec.get("volumeClaimTemplates") or []:
                for ordinal in range(int(spec.get("replicas") or 1)):
                    claim = f"{template['metadata']['name']}-{doc['metadata']['name']}-{ordinal}"
                    owners[(doc["metadata"].get("namespace") or "", claim)] = (int(uid), int(gid))
    return owners


def planned_volumes(ctx: StepContext[Answers]) -> tuple[list[Volume], str | None]:
    """The static volumes the plan derives (rendered offline; nothing is kept from the render)."""
    from installer.adapters.helm import HelmSdkEngine
    from installer.plan import PlanError, build_plan, render_plan
    from installer.secretstore import SecretStore

    store = SecretStore(Path(ctx.state_dir), persist=False)
    try:
        plan = build_plan(ctx.answers, store=store, outputs=ctx.outputs)
        with HelmSdkEngine() as engine:
            render_plan(plan, engine)
    except PlanError as exc:
        raise StepFailed(redact.mask(f"the plan cannot be built: {exc}")) from None
    if plan.render_failures:
        raise StepFailed(f"{len(plan.render_failures)} chart(s) do not render: {', '.join(plan.render_failures)}",
                         remediation="./install.sh plan shows why")
    owners = _owners({n: r.documents for n, r in plan.rendered.items()})
    volumes = []
    for obj in plan.objects:
        if obj.kind != "PersistentVolume":
            continue
        spec = obj.manifest["spec"]
        ref = spec["claimRef"]
        terms = spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"]
        uid, gid = owners.get((ref["namespace"], ref["name"]), (DEFAULT_UID, DEFAULT_UID))
        volumes.append(Volume(terms[0], spec["hostPath"]["path"], f"{ref['namespace']}/{ref['name']}",
                              quantity_bytes(spec["capacity"]["storage"]), uid, gid))
    return volumes, plan.storage_class


def storage(ctx: StepContext[Answers]) -> StorageOutput:
    from installer.provision.step import Fleet, each

    answers = ctx.answers
    ctx.progress(0, None, "", "deriving the static volumes from the plan")
    volumes, storage_class = planned_volumes(ctx)
    provisioned = (ctx.outputs.get("provision") or {}).get("node_names") or {}
    by_name = {provisioned.get(m.label, m.node_name): m for m in members(answers.target)}
    per_node: dict[str, list[Volume]] = defaultdict(list)
    for volume in volumes:
        member = by_name.get(volume.node_name)
        if member is None:
            raise StepFailed(f"static volume {volume.claim} is planned on node {volume.node_name!r}, "
                             "which is not a cluster node of target.nodes")
        per_node[member.label].append(volume)
    output = StorageOutput(provisioner="static volumes (no dynamic provisioner)", storage_class=storage_class or "",
                           directories={label: [v.path for v in vs] for label, vs in per_node.items()})
    if not volumes:
        ctx.log("the plan has no static volumes")
        return output
    chosen: list[Member] = [m for m in members(answers.target) if m.label in per_node]
    if ctx.dry_run:
        for label, vs in per_node.items():
            ctx.log(f"would create {len(vs)} volume director(ies) on {label}")
        return output
    created: list[str] = []
    with Fleet(ctx, chosen) as fleet:
        def prepare(member: Member) -> list[str]:
            ops = fleet.ops(member)
            try:
                return _prepare_node(ctx, ops, member.label, per_node[member.label])
            except NodeError as exc:
                raise StepFailed(str(exc)) from None
        for made in each(chosen, prepare):
            created += made
    return StorageOutput(output.provisioner, output.storage_class, output.directories, created)


def _prepare_node(ctx: StepContext[Answers], ops: Any, label: str, volumes: list[Volume]) -> list[str]:
    install = ctx.answers.name
    # Free space, counted for the directories that do not exist yet, on the filesystem holding them.
    probe = "; ".join(
        f"p={shlex.quote(v.path)}; if [ -e \"$p\" ]; then echo exists; else "
        f"d=\"$p\"; while [ ! -e \"$d\" ]; do d=$(dirname \"$d\"); done; "
        f"echo free $(df -P -B1 \"$d\" | awk 'NR==2{{print $4}}'); fi; "
        f"cat \"$p\"/{MARKER} 2>/dev/null | tr '\\n' ' '; echo" for v in volumes)
    lines = ops.run_as_root(probe, "checking the volume directories").splitlines()
    needed, free, states = 0, None, []
    for volume, line, marker in zip(volumes, lines[0::2], lines[1::2], strict=False):
        existing = line.strip() == "exists"
        states.append((volume, existing, marker.strip()))
        if not existing:
            needed += volume.size_bytes
            if line.startswith("free "):
                value = line.split()[1] if len(line.split()) > 1 else ""
                free = int(value) if value.isdigit() else free
    for volume, existing, marker in states:
        expected = f"install={install} claim={volume.claim}"
        if existing and marker != expected:
            found = marker or "no marker (data of unknown origin)"
            raise StepFailed(f"{label}: {volume.path} already exists and holds {found}, not {expected}; "
                             "it is neither used nor emptied",
                             remediation="move that data away (after checking whose it is), or point the node's "
                                         "data_paths elsewhere, then rerun")
    if free is not None and needed > free:
        raise StepFailed(f"{label}: the volumes need {needed / 1000 ** 3:.1f} GB but {free / 1000 ** 3:.1f} GB is free "
                         f"under {PurePosixPath(volumes[0].path).parent}",
                         remediation="grow the disk or move data_paths to a larger one, or choose smaller volumes")
    created = []
    for index, (volume, existing, _) in enumerate(states, 1):
        if not existing:
            marker = f"install={install}\nclaim={volume.claim}\n"
            script = (f"set -e; umask 077; mkdir -p {shlex.quote(volume.path)}; "
                      f"printf %s {shlex.quote(marker)} > {shlex.quote(volume.path)}/{MARKER}; "
                      f"chmod 0644 {shlex.quote(volume.path)}/{MARKER}; "
                      f"chown {volume.uid}:{volume.gid} {shlex.quote(volume.path)}; chmod {MODE} {shlex.quote(volume.path)}")
            ops.run_as_root(script, f"creating {volume.path}")
            created.append(f"{label}:{volume.path}")
        ctx.progress(index, len(states), "volumes", volume.claim, task=f"{label} storage")
    ctx.task_done(f"{label} storage", "succeeded", f"{len(states)} volume(s)")
    return created
