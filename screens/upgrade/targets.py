"""The profiles an install can move to, in the words both the wizard's target page and line mode show.

Free of textual (line mode uses it). A profile whose charts the install's chart folder lacks is marked
where it is listed and refused where it is chosen, not on the plan.
"""
from __future__ import annotations

from typing import Any

from screens.paths import shown_path


def mark(unfit: Any) -> str:
    """A few words beside a profile the install's chart folder cannot serve."""
    if unfit.missing:  # the folder is named above the list: the label stays within 80 columns
        return f"{len(unfit.missing)} charts missing"
    return "cannot be planned"


def explain(unfit: Any) -> str:
    """Count, the first few charts and what to do, with the folder as the operator named it."""
    return unfit.message().replace(str(unfit.folder), shown_path(unfit.folder))


def describe(profile: Any) -> str:
    commit = getattr(profile, "devops_commit", None) or "commit not pinned"
    return f"{profile.name}  (DIGIT {profile.digit_version}, DevOps {commit})"


def unfit_for(answers: Any, key: str) -> Any:
    """Why the install's chart folder cannot make this profile's plan (the Release page's check, run for each
    profile so a profile is refused where it is chosen); None when it can."""
    from installer.upgrade.plan_step import target_unfit, with_version

    if answers is None or not hasattr(answers, "model_copy"):
        return None  # no install read yet (pages shown on their own in tests)
    return target_unfit(with_version(answers, key))


NO_OTHER_PROFILE = "There is no other release profile to upgrade to: add one under profiles/releases/"
