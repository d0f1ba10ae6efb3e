"""The pipeline's `images` step (air-gap installs): every image of the plan in the mirror, first.

It runs right after preflight, before anything is changed: it renders the plan the deploy step
will apply (same answers; secrets do not name images, so unresolved or not yet generated ones
render as placeholders and nothing is written) and asks the mirror for every image by tag or
digest (check.py). Anything missing fails the step with the whole list, so nothing is touched,
let alone deployed half-way, for want of one image.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from installer.answers import Answers
from installer.bundle.check import CHECK_ID, check_answers
from installer.engine import StepContext


def images_in_mirror(ctx: StepContext[Answers]) -> dict[str, Any]:
    from installer import redact
    from installer.engine import StepFailed
    from installer.plan import PlanError

    answers = ctx.answers
    bundle = Path(answers.release.bundle) if answers.release.bundle else None
    if answers.registry is None:
        raise StepFailed(f"{CHECK_ID}: release.bundle is set but registry.mirror is not; images would come from "
                         "the internet", remediation="set registry.mirror to the registry the bundle was pushed to")
    phases = iter(range(2))
    try:
        _plan, result = check_answers(answers, ctx.outputs,
                                      on_phase=lambda message: ctx.progress(next(phases), 2, "phases", message))
    except PlanError as exc:
        raise StepFailed(redact.mask(f"the plan cannot be built: {exc}")) from None
    ctx.progress(2, 2, "phases", "done")
    for problem in result.problems():
        ctx.log(f"{CHECK_ID}: {problem}", level="error")
    if not result.ok:
        problems = result.problems()
        raise StepFailed(f"{CHECK_ID}: {len(problems)} image(s) of the plan cannot be pulled from "
                         f"{answers.registry.mirror}: " + "; ".join(problems),
                         remediation=f"push the bundle again (./install.sh bundle push {bundle or 'DIR'} --answers FILE)"
                                     " or make a bundle that carries these images",
                         details={"check": CHECK_ID, "missing": result.missing,
                                  "not_from_mirror": result.not_from_mirror, "wrong_digest": result.wrong_digest})
    return {"check": CHECK_ID, "images_checked": result.checked, "mirror": answers.registry.mirror,
            "bundle": str(bundle) if bundle else None}
