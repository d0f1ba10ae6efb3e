"""The `provision` step for clouds (aws, azure, gcp, openstack): the stack applied with Terraform.

1. The stack (the installer's, or the site's named in target.terraform.stack) is checked against the
   contract before anything runs; it is copied into the state directory and Terraform runs there,
   providers from the mirror when one is given.
2. If the last apply was cut off (the installer killed), the run reconciles first: it waits for a
   Terraform process still holding the state, refreshes the state, and imports what the stack can
   find by name (its imports.json) that the plan would otherwise create a second time.
3. Plan; a plan that destroys or replaces a resource not named in target.terraform.allow_destroy
   stops here, and so does one with a change the operator did not confirm in the wizard's plan
   review (when the run comes from it). Apply, each resource reported as it starts, completes or fails.
4. `terraform output -json`, validated into StackOutputs; the kubeconfig is written 0600 into the
   state directory and its credentials registered with the redactor.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from installer.answers import Answers
from installer.answers.models import AwsTarget, AzureTarget, GcpTarget, OpenStackTarget
from installer import redact
from installer.engine import Cancelled, StepContext, StepFailed
from installer.files import atomic_write
from installer.provision.cloud.contract import ContractError, StackOutputs, needed_outputs
from installer.provision.cloud.inputs import StackInputs
from installer.provision.cloud.review import DESTRUCTIVE, REVIEWED, unpin_review, unreviewed_changes
from installer.provision.cloud.session import open_session
from installer.provision.cloud.workspace import Workspace

KUBECONFIG_NAME = "kubeconfig"
INIT_TIMEOUT = 600.0
PLAN_TIMEOUT = 1800.0
APPLY_TIMEOUT = 3 * 3600.0


@dataclass(frozen=True)
class CloudProvisionOutput:
    """What later steps read (journalled; no secret values: the kubeconfig is a path to a 0600 file)."""
    kubeconfig: str
    kubernetes_endpoint: str
    database: dict[str, Any] | None
    bucket: str | None
    volume_ids: dict[str, str]
    nodes: list[dict[str, str]]
    planned: dict[str, int] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    reconciled: bool = False
    terraform_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ResourceProgress:
    """Terraform's per-resource events as the engine's progress rows: one task per resource address."""

    def __init__(self, ctx: StepContext[Answers]) -> None:
        self.ctx = ctx
        self.planned: dict[str, str] = {}
        self.finished: set[str] = set()
        self.created: list[str] = []
        self.failed: list[str] = []
        self._lock = threading.Lock()

    def _report(self, call: Any, *args: Any, **kwargs: Any) -> None:
        try:
            call(*args, **kwargs)
        except Cancelled:
            pass  # Terraform is being interrupted; it must still be waited for

    def on_plan(self, event: Any) -> None:
        if event.phase == "planned" and event.action not in ("noop", "read"):
            with self._lock:
                self.planned[event.address] = event.action
            self._report(self.ctx.progress, 0, 1, "", f"planned: {event.action}", task=event.address)

    def on_apply(self, event: Any) -> None:
        if event.phase == "planned":
            self.on_plan(event)
            return
        address = event.address
        if event.phase == "start":
            self._report(self.ctx.progress, 0, 1, "", f"{event.action}: started", task=address)
        elif event.phase == "progress":
            self._report(self.ctx.progress, 0, 1, "", f"{event.action}: still working ({event.elapsed:g}s)",
                         task=address)
        elif event.phase in ("complete", "errored"):
            with self._lock:
                self.finished.add(address)
                if event.phase == "complete" and event.action == "create":
                    self.created.append(address)
                if event.phase == "errored":
                    self.failed.append(address)
                done, total = len(self.finished), max(len(self.planned), len(self.finished))
            if event.phase == "complete":
                self._report(self.ctx.progress, 1, 1, "", f"{event.action}: done"
                             + (f" ({event.elapsed:g}s)" if event.elapsed else ""), task=address)
                self._report(self.ctx.task_done, address, "succeeded", event.action)
            else:
                self._report(self.ctx.task_done, address, "failed", f"{event.action} failed")
            self._report(self.ctx.progress, done, total, "resources")


def provision(ctx: StepContext[Answers]) -> CloudProvisionOutput:
    from installer.adapters.terraform import TerraformBusy, TerraformError, TerraformInterrupted

    answers = ctx.answers
    target = answers.target
    if not isinstance(target, (AwsTarget, AzureTarget, GcpTarget, OpenStackTarget)):
        raise StepFailed(f"the cloud provision step for target kind {target.kind!r} is not this one")
    settings = target.terraform
    session = open_session(answers, ctx.state_dir, persist=not ctx.dry_run, on_wait=ctx.warn)
    terraform, workspace, inputs, mirror = session.terraform, session.workspace, session.inputs, session.mirror
    progress = ResourceProgress(ctx)
    started = time.monotonic()
    imported: list[str] = []
    reconciled = False
    try:
        ctx.progress(0, None, "", f"terraform init ({'provider mirror ' + str(mirror) if mirror else 'providers from the registry'})")
        terraform.init(settings.backend.config, ctx.cancelled, INIT_TIMEOUT)
        if workspace.pending.exists():
            ctx.warn("the last apply was cut off before it finished; reconciling the state with the cloud first")
            imported = reconcile(ctx, terraform, workspace, inputs)
            reconciled = True
        report = terraform.plan(workspace.plan_file, progress.on_plan, ctx.cancelled, PLAN_TIMEOUT)
        summary = report.summary
        planned = {"add": summary.add, "change": summary.change, "destroy": summary.remove} if summary else {}
        ctx.log(f"plan: {planned.get('add', 0)} to add, {planned.get('change', 0)} to change, "
                f"{planned.get('destroy', 0)} to destroy")
        _refuse_unasked_destruction(progress.planned, settings.allow_destroy)
        surprises = unreviewed_changes(workspace.root, progress.planned)
        if surprises:
            raise StepFailed(
                "the plan differs from the one reviewed and applied in the wizard; not reviewed: "
                + ", ".join(surprises) + "; nothing was applied",
                remediation="open the wizard's plan review again (it plans afresh) and Apply what it shows, or, "
                            f"to apply without a review, delete {workspace.root / REVIEWED} and rerun")
        if ctx.dry_run:
            ctx.log("dry run: planned only; nothing was created")
            return CloudProvisionOutput("", "", None, None, {}, [], planned, reconciled=reconciled)
        if summary is not None and not summary.empty:
            atomic_write(workspace.pending, json.dumps({"since": time.time()}), 0o600)
            try:
                terraform.apply(workspace.plan_file, progress.on_apply, ctx.cancelled, APPLY_TIMEOUT)
            except (TerraformInterrupted, TerraformError):
                workspace.pending.unlink(missing_ok=True)  # Terraform ended on its own: its state is sound
                raise
            workspace.pending.unlink(missing_ok=True)
            unpin_review(workspace.root)
            values = terraform.outputs()
        else:
            unpin_review(workspace.root)
            values = terraform.outputs()
            if any(name not in values for name in needed_outputs(
                    needs_cluster=target.kind != "openstack", needs_database=answers.database.mode == "managed",
                    needs_nodes=target.kind == "openstack")):
                # An apply cut off before its end leaves the resources in state but not the outputs, which
                # Terraform records last: applying the (empty) plan records them.
                ctx.log("the cloud already matches the stack; recording the stack's outputs")
                terraform.apply(workspace.plan_file, progress.on_apply, ctx.cancelled, APPLY_TIMEOUT)
                values = terraform.outputs()
            else:
                ctx.log("the cloud already matches the stack; nothing to apply")
    except TerraformInterrupted as exc:
        ctx.warn(f"{exc}; created before the interrupt: {', '.join(progress.created) or 'nothing'}")
        raise Cancelled("provisioning interrupted; --resume creates only what is missing") from None
    except TerraformBusy as exc:
        raise StepFailed(str(exc), remediation="wait for it to end (or stop it), then rerun with --resume") from None
    except TerraformError as exc:
        failed = exc.failed or progress.failed
        what = f" (failed: {', '.join(dict.fromkeys(failed))})" if failed else ""
        raise StepFailed(f"{exc}{what}", details={"failed_resources": list(dict.fromkeys(failed))},
                         remediation="fix the cause named above, then rerun with --resume: what exists is kept "
                                     "and only what is missing is created") from None
    finally:
        workspace.plan_file.unlink(missing_ok=True)
    terraform_seconds = time.monotonic() - started
    try:
        outputs = StackOutputs.from_terraform(
            values, needs_cluster=target.kind != "openstack", needs_database=answers.database.mode == "managed",
            needs_nodes=target.kind == "openstack")
    except ContractError as exc:
        raise StepFailed(f"the stack's outputs do not keep the contract: {exc}",
                         remediation="fix the stack's outputs, then rerun with --resume") from None
    kubeconfig = ""
    if outputs.kubeconfig:
        kubeconfig = str(save_kubeconfig(ctx.state_dir, outputs.kubeconfig))
        ctx.log(f"kubeconfig saved to {kubeconfig} (API {outputs.kubernetes_endpoint})")
    database = None
    if outputs.database_host:
        database = {"host": outputs.database_host, "port": int(outputs.database_port or 5432),
                    "name": outputs.database_name or answers.database.name,
                    "username": outputs.database_username or answers.database.username}
    return CloudProvisionOutput(
        kubeconfig=kubeconfig, kubernetes_endpoint=outputs.kubernetes_endpoint or "", database=database,
        bucket=outputs.filestore_bucket, volume_ids=dict(outputs.volume_ids),
        nodes=[n.model_dump() for n in outputs.nodes], planned=planned, created=progress.created,
        imported=imported, reconciled=reconciled, terraform_seconds=round(terraform_seconds, 3))


def reconcile(ctx: StepContext[Answers], terraform: Any, workspace: Workspace, inputs: StackInputs) -> list[str]:
    """Refresh the state, then import what the plan would create but the cloud already has (by the stack's names)."""
    seen: dict[str, str] = {}

    def note(event: Any) -> None:
        if event.phase == "planned":
            seen[event.address] = event.action

    ctx.progress(0, None, "", "reconcile: refreshing the state from the cloud")
    terraform.plan(workspace.plan_file, note, ctx.cancelled, PLAN_TIMEOUT, refresh_only=True)
    terraform.apply(workspace.plan_file, lambda event: None, ctx.cancelled, PLAN_TIMEOUT)
    seen.clear()
    terraform.plan(workspace.plan_file, note, ctx.cancelled, PLAN_TIMEOUT)
    creates = [address for address, action in seen.items() if action == "create"]
    try:
        table = workspace.imports(inputs.variables)
    except ValueError as exc:
        raise StepFailed(str(exc)) from None
    imported = []
    for address in creates:
        if address not in table:
            continue
        ctx.progress(0, None, "", f"reconcile: looking for {address} in the cloud", task=address)
        if terraform.import_resource(address, table[address]):
            imported.append(address)
            ctx.log(f"{address} existed in the cloud but not in the state (the cut-off apply made it); "
                    "imported, not created again", task=address)
    if not table:
        ctx.log("reconcile: the stack names nothing to look for by name (no imports.json); state refreshed")
    return imported


def _refuse_unasked_destruction(planned: dict[str, str], allowed: list[str]) -> None:
    destructive = sorted(a for a, action in planned.items() if action in DESTRUCTIVE and a not in allowed)
    if destructive:
        raise StepFailed(
            "the plan would destroy or replace " + ", ".join(destructive) + "; nothing was applied",
            remediation="if that is meant, name each address in target.terraform.allow_destroy and rerun; "
                        "otherwise change the answers back")


def save_kubeconfig(state_dir: Path, text: str) -> Path:
    """The stack's kubeconfig, 0600 in the state directory; its credentials registered with the redactor."""
    from installer.yamlio import load_yaml

    try:
        config = load_yaml(text)
    except Exception:  # YAML errors of any kind: the kubeconfig is checked when it is used
        config = None
    for user in (config or {}).get("users") or [] if isinstance(config, dict) else []:
        for key in ("token", "client-key-data", "password"):
            value = (user.get("user") or {}).get(key)
            if value:
                redact.register(str(value))
    return atomic_write(Path(state_dir) / KUBECONFIG_NAME, text, 0o600)
