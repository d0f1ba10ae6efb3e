"""The `provision` step for openstack, and the later steps' view of its VMs.

Terraform makes the VMs (each booting with the SSH host key the installer made for it, hostkeys.py), then
RKE2 is installed on them over SSH by the sdc-vms provisioning (installer/provision/step.py) with those
host keys pinned. Every later step (storage, database, configure, deploy, ...) runs as on sdc-vms: `on_vms`
gives it the answers with the VMs as an sdc-vms target, rebuilt from the journalled `nodes` and the kept keys.
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from installer.answers import Answers
from installer.engine import StepContext, StepFailed
from installer.provision.cloud.hostkeys import HostKeyStore
from installer.provision.cloud.step import provision as provision_cloud
from installer.provision.cloud.vms import VmTargetError, vm_target

T = TypeVar("T")


def vms_answers(answers: Any, nodes: list[dict[str, Any]], state_dir: Any) -> Any:
    """The answers with the VMs the stack made as an sdc-vms target (host keys pinned to the ones they were given)."""
    try:
        target = vm_target(answers.target, nodes, HostKeyStore(state_dir).known())
    except (VmTargetError, ValueError) as exc:
        raise StepFailed(str(exc), remediation="fix the cause named above, then rerun with --resume") from None
    return answers.model_copy(update={"target": target})


def _with_answers(ctx: StepContext[Answers], answers: Any) -> StepContext:
    view = copy.copy(ctx)
    view.answers = answers
    return view


def provision(ctx: StepContext[Answers]) -> dict[str, Any]:
    from installer.provision.step import provision as provision_rke2

    cloud = provision_cloud(ctx)
    if ctx.dry_run:
        ctx.log("dry run: Kubernetes (RKE2) would then be installed on the VMs the plan makes")
        return {"cloud": cloud.to_dict(), "nodes": cloud.nodes}
    ctx.log(f"the stack made {len(cloud.nodes)} VM(s); installing Kubernetes (RKE2) on them over SSH, "
            "host keys pinned to the ones they were given")
    rke2 = provision_rke2(_with_answers(ctx, vms_answers(ctx.answers, cloud.nodes, ctx.state_dir)))
    return {**rke2.to_dict(), "cloud": cloud.to_dict(), "nodes": cloud.nodes, "bucket": cloud.bucket,
            "volume_ids": cloud.volume_ids, "database": cloud.database}


def on_vms(step: Callable[[StepContext], T]) -> Callable[[StepContext], T]:
    """`step` run with the VMs as its sdc-vms target (the provision step's journalled nodes)."""

    @functools.wraps(step)
    def run(ctx: StepContext[Answers]) -> T:
        nodes = (ctx.outputs.get("provision") or {}).get("nodes") or []
        if not nodes:
            if ctx.dry_run:
                return step(ctx)
            raise StepFailed("the provision step recorded no VMs", remediation="rerun with --resume")
        return step(_with_answers(ctx, vms_answers(ctx.answers, nodes, ctx.state_dir)))

    return run
