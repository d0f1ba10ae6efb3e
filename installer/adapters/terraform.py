"""Terraform behind a small interface, for the cloud targets (aws, azure, gcp, openstack).

Only the contract is here so far: no implementation exists yet, and nothing in the installer
calls it. The implementation will drive the real `terraform` binary (python_terraform or a
subprocess), imported lazily here like every heavy dependency, with the timeouts below.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class TerraformError(Exception):
    """A Terraform command failed (`kind`: init | plan | apply | destroy | output | timeout | cancelled);
    the message holds Terraform's own error lines with secrets masked."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class PlanSummary:
    add: int
    change: int
    destroy: int
    plan_file: Path
    resources: list[str] = field(default_factory=list)  # addresses that would change


class TerraformRunner(Protocol):
    """One working directory (a module plus its state). Each call takes a timeout in seconds; past it
    Terraform is interrupted (SIGINT, so it can release its state lock) and then killed, and the call
    raises TerraformError(kind "timeout"). `cancel()` does the same on request (kind "cancelled").
    Variables are passed in a 0600 file, never on a command line, so secrets stay out of argv."""

    def init(self, *, timeout: float) -> None:
        """`terraform init` with providers from a local mirror only (no network in an air gap)."""
        ...

    def plan(self, variables: dict[str, Any], *, timeout: float) -> PlanSummary:
        """`terraform plan -out`; what apply would do."""
        ...

    def apply(self, plan: PlanSummary, *, timeout: float) -> dict[str, Any]:
        """Apply exactly that plan; returns the outputs (as `output`)."""
        ...

    def output(self, *, timeout: float) -> dict[str, Any]:
        """The root module's outputs as plain values."""
        ...

    def destroy(self, variables: dict[str, Any], *, timeout: float) -> None:
        """Destroy everything in the state; callers confirm by name first."""
        ...

    def cancel(self) -> None: ...
