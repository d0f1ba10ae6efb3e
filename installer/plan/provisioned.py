"""What the provision step made that later steps read: the cluster's kubeconfig, the managed database's
endpoint and the filestore bucket.

The provision step journals them as its outputs (see installer/provision/cloud/step.py); the database and
configure steps read them here, typed, instead of digging in the outputs dict.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from installer.answers import Answers
from installer.engine import StepContext

KUBECONFIG_OUTPUT = "kubeconfig"  # the key under which a provisioning step records the cluster's kubeconfig


class ProvisionedDatabase(BaseModel):
    host: str
    port: int = 5432
    name: str
    username: str


def provisioned_database(outputs: dict[str, dict[str, Any]]) -> ProvisionedDatabase | None:
    """The managed database the provision step made, from the journalled step outputs; None if it made none."""
    data = (outputs.get("provision") or {}).get("database")
    if not data or not data.get("host"):
        return None
    return ProvisionedDatabase.model_validate(data)


def provisioned_bucket(outputs: dict[str, dict[str, Any]]) -> str | None:
    """The filestore bucket the provision step made, if any."""
    return (outputs.get("provision") or {}).get("bucket") or None


def kube_access(ctx: StepContext[Answers]) -> tuple[Path | None, str | None]:
    """(kubeconfig, context) of the target cluster: what provision recorded, else the answers'."""
    target = ctx.answers.target
    kubeconfig = (ctx.outputs.get("provision") or {}).get(KUBECONFIG_OUTPUT) or getattr(target, "kubeconfig", None)
    return (Path(kubeconfig) if kubeconfig else None), getattr(target, "context", None)
