"""What applying the stack would do, for the operator to confirm before anything is created (the wizard's plan review).

`plan_review` runs `terraform init` and `terraform plan -json` exactly as the provision step does (same
working folder, variables and credentials through the environment, the same state lock) and returns each
resource's planned action. The plan file it writes holds variables, so it is removed at once; the provision
step plans again before it applies, and a plan that destroys or replaces anything not named in
target.terraform.allow_destroy still stops there.

When the operator presses Apply, the reviewed changes are pinned (`pin_review`, reviewed-plan.json
beside the state): the provision step then applies only if its own plan makes no change the
operator did not see (`unreviewed_changes`), so a cloud or answers that moved in between stop the
run instead of being applied unseen. A headless run without a review has no pin and is guarded by
allow_destroy alone.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

from installer.engine import StepFailed

DESTRUCTIVE = ("delete", "replace", "create-then-delete", "delete-then-create")
REVIEW_PLAN = "review.tfplan"
REVIEWED = "reviewed-plan.json"  # in the Terraform workspace folder: address -> action the operator confirmed
INIT_TIMEOUT = 600.0
PLAN_TIMEOUT = 1800.0


@dataclass(frozen=True)
class PlannedChange:
    address: str
    action: str  # create, update, delete, replace, create-then-delete, delete-then-create

    @property
    def destructive(self) -> bool:
        return self.action in DESTRUCTIVE


@dataclass
class PlanReview:
    changes: list[PlannedChange] = field(default_factory=list)
    add: int = 0
    change: int = 0
    destroy: int = 0
    refused: list[str] = field(default_factory=list)  # destroyed or replaced without being in allow_destroy
    cut_off: bool = False  # the last apply was cut off: the run reconciles first, so some creates may be imports
    machines: str = ""  # what the stack is asked for: region, workers and their type, the database's class

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.destroy)

    def headline(self) -> str:
        return f"{self.add} to add, {self.change} to change, {self.destroy} to destroy"


def plan_review(answers: Any, state_dir: Path, cancelled: threading.Event | None = None,
                on_wait: Callable[[str], None] | None = None) -> PlanReview:
    """init + plan -json of the install's stack; nothing in the cloud is changed. Raises StepFailed with the cause."""
    from installer.adapters.terraform import TerraformError
    from installer.provision.cloud.session import open_session

    session = open_session(answers, Path(state_dir), persist=False, on_wait=on_wait)
    stop = cancelled or threading.Event()
    planned: dict[str, str] = {}

    def note(event: Any) -> None:
        if event.phase == "planned" and event.action not in ("noop", "read"):
            planned[event.address] = event.action

    plan_file = session.workspace.root / REVIEW_PLAN
    try:
        session.terraform.init(answers.target.terraform.backend.config, stop, INIT_TIMEOUT)
        report = session.terraform.plan(plan_file, note, stop, PLAN_TIMEOUT)
    except TerraformError as exc:
        raise StepFailed(f"terraform plan: {exc}") from None
    finally:
        plan_file.unlink(missing_ok=True)
    summary = report.summary
    allowed = set(answers.target.terraform.allow_destroy)
    changes = [PlannedChange(address, action) for address, action in sorted(planned.items())]
    return PlanReview(
        changes=changes,
        add=summary.add if summary else sum(1 for c in changes if c.action == "create"),
        change=summary.change if summary else sum(1 for c in changes if c.action == "update"),
        destroy=summary.remove if summary else sum(1 for c in changes if c.destructive),
        refused=[c.address for c in changes if c.destructive and c.address not in allowed],
        cut_off=session.workspace.pending.exists(), machines=_machines(session.inputs.variables))


def _machines(variables: dict[str, Any]) -> str:
    text = (f"{variables.get('node_count')} × {variables.get('node_instance_type')} workers"
            f" in {variables.get('region')}")
    if variables.get("create_database"):
        text += f"; managed database {variables.get('db_instance_class')}"
    return text


def pin_review(workspace_root: Path, review: PlanReview) -> Path:
    """Record what the operator confirmed with Apply; the provision step holds its own plan to it."""
    from installer.files import atomic_write

    path = Path(workspace_root) / REVIEWED
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps({"reviewed_at": time.time(),
                                   "changes": {c.address: c.action for c in review.changes}}, indent=2), 0o600)
    return path


def unreviewed_changes(workspace_root: Path, planned: dict[str, str]) -> list[str] | None:
    """Changes of this plan the operator did not confirm ('address (action)'), or None without a pin.

    A change reviewed with the same action passes; fewer changes than reviewed pass too (a resumed run
    after a partial apply, or resources a reconcile imported)."""
    path = Path(workspace_root) / REVIEWED
    try:
        reviewed = json.loads(path.read_text()).get("changes") or {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        reviewed = {}
    return [f"{address} ({action})" for address, action in sorted(planned.items()) if reviewed.get(address) != action]


def unpin_review(workspace_root: Path) -> None:
    """The reviewed plan was applied: a later run plans afresh under allow_destroy alone."""
    (Path(workspace_root) / REVIEWED).unlink(missing_ok=True)
