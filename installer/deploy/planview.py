"""The plan as the deploy steps need it: the same build_plan the configure step and `plan` use."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def planned_releases(ctx: Any) -> list[dict[str, Any]]:
    """Per release: name, chart (absolute), namespace, module, needs, wave, values, digests, timeout."""
    from installer.plan import PlanError, build_plan
    from installer.secretstore import SecretStore, SecretStoreError

    from installer.engine import StepFailed

    cached = getattr(ctx, "_deploy_plan_releases", None)
    if cached is not None:
        return cached
    try:
        plan = build_plan(ctx.answers, store=SecretStore(Path(ctx.state_dir), persist=not ctx.dry_run),
                          outputs=ctx.outputs)
    except PlanError as error:
        key = getattr(error, "key", "")
        raise StepFailed(f"cannot build the deployment plan: {error}",
                         remediation=f"fix {key} in the answers file" if key else
                         "run `./install.sh plan --answers FILE` to see the problem") from None
    except SecretStoreError as error:
        raise StepFailed(f"generated secrets are unavailable: {error}",
                         remediation="rerun with --resume so the configure step restores them") from None
    releases = plan.release_dicts()
    try:
        ctx._deploy_plan_releases = releases
    except AttributeError:
        pass
    return releases
