"""The sizing profile as instance types on the chosen cloud, for the sizing page (the same mapping the stack is given)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

OVERRIDE_KEYS = ("workers", "worker_vcpu", "worker_memory_gb")


def machines_line(draft: dict[str, Any], profile: Any, overrides: dict[str, Any] | None) -> str:
    """'On aws: 3 × m5a.xlarge workers (for 4 vCPU / 16 GB); managed database db.m6g.large', or '' off the clouds."""
    from installer.app.pipeline import CLOUD_KINDS
    from installer.provision.cloud.inputs import cloud_machines

    target = draft.get("target") or {}
    kind = target.get("kind")
    if kind not in CLOUD_KINDS or profile is None:
        return ""
    figures = {}
    for key in OVERRIDE_KEYS:
        try:
            figures[key] = int((overrides or {}).get(key)) or None
        except (TypeError, ValueError):
            figures[key] = None  # the field shows its own error; the profile's figure is used meanwhile
    chosen = (target.get("terraform") or {}).get("instance_type") or target.get("flavor")
    managed = (draft.get("database") or {}).get("mode") == "managed"
    machines = cloud_machines(kind, profile, SimpleNamespace(**figures), chosen or None, managed_database=managed)
    return machines.describe(kind)
