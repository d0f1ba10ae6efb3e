"""The chart folder checked against what a page chose, on the page where the choice is made.

The Release page (profile, modules, chart folder or bundle), the Monitoring page (monitoring, tracing,
Jenkins) and line mode after the same questions make the check `validate` and preflight make
(release_tree_problem) on the draft: a profile or a switch whose charts the folder lacks would otherwise be
found only after the database step. A folder that is not there, or is not a chart tree at all, is refused
here too, where `validate` only warns (the folder may be copied in before the install).
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from screens.questions import FieldError

# The answer that switches a release in, and where it is asked: section and field.
SWITCH_FIELDS = {"monitoring.enabled": ("monitoring", ("enabled",)),
                 "monitoring.tracing": ("monitoring", ("tracing",)),
                 "ci.jenkins": ("ci", ("jenkins",))}
OFF = {"monitoring": {"enabled": False, "tracing": False}, "ci": {"jenkins": False}}


def _answers(release: Any, draft: dict, base_dir: Path, monitoring: dict, ci: dict) -> SimpleNamespace:
    """What release_tree_problem reads, from the page's release model and the draft's database mode."""
    from installer.answers.models import Ci, Monitoring

    database = draft.get("database") or {}
    return SimpleNamespace(release=release, base_dir=base_dir, database=SimpleNamespace(mode=database.get("mode")),
                           monitoring=Monitoring.model_validate(monitoring), ci=Ci.model_validate(ci))


def chart_folder_problem(release: Any, base_dir: Path) -> str | None:
    """Why release.charts is no chart tree at all: not there, a bundle without charts/, not a folder, or a
    folder holding none of the profile's charts (a DIGIT-DevOps clone's top instead of its charts, say)."""
    from installer.profiles import ProfileError, release_profile

    charts = Path(release.charts)
    if release.bundle is not None and not charts.is_dir():
        return (f"the bundle {release.bundle} has no charts/ folder: give the folder `install.sh bundle create` "
                "made (it holds manifest.json and charts/)")
    if not charts.exists():
        return (f"{charts} does not exist: give the deploy-as-code/charts folder of a DIGIT-DevOps checkout, "
                "or an air-gap bundle under Air-gap bundle")
    if not charts.is_dir():
        return f"{charts} is not a folder: give the deploy-as-code/charts folder of a DIGIT-DevOps checkout"
    try:
        profile = release_profile(release.version, base_dir)
    except ProfileError:
        return None  # release_tree_problem says so
    paths = sorted({spec.chart for spec in profile.releases})

    def holds_charts(folder: Path) -> bool:
        return any((folder / path / "Chart.yaml").is_file() for path in paths)

    if not paths or holds_charts(charts):
        return None
    guess = next((folder for folder in (charts / "deploy-as-code" / "charts", charts / "charts")
                  if holds_charts(folder)), None)
    return (f"{charts} is not a DIGIT-DevOps deploy-as-code/charts tree: none of the {len(paths)} charts of "
            f"release {profile.name} is there (such as {paths[0]}/Chart.yaml)"
            + (f"; did you mean {guess}?" if guess else ""))


def release_errors(data: Any, draft: dict, base_dir: Path) -> list[FieldError]:
    """The release section (already valid by its model) against its chart folder, with the database mode an
    earlier page chose. Monitoring, tracing and Jenkins are asked after it: their charts are switch_errors'
    (a page must not refuse what only a later page can change)."""
    from installer.answers.models import Release
    from installer.plan.graph import release_tree_problem

    release = Release.model_validate(data, context={"base_dir": str(base_dir)})
    problem = chart_folder_problem(release, base_dir)
    if problem is None:
        problem = release_tree_problem(_answers(release, draft, base_dir, OFF["monitoring"], OFF["ci"]))
        if problem:
            problem += "; choose the profile that matches this folder, or another folder"
    return [FieldError(("charts",), "release.charts", problem)] if problem else []


def switch_errors(section: str, data: Any, draft: dict, base_dir: Path) -> list[FieldError]:
    """For the monitoring or ci section (already valid by its model): each switch turned on whose charts the
    draft's chart folder lacks, on that switch, naming the chart paths and what to do. Nothing when the folder
    cannot serve the release itself: that is the Release page's to say."""
    from installer.answers.models import Release
    from installer.plan.graph import release_tree_problem, switched_charts_missing
    from installer.profiles import ProfileError, release_profile

    if section not in OFF:
        return []
    try:
        release = Release.model_validate(draft.get("release") or {}, context={"base_dir": str(base_dir)})
    except ValueError:
        return []
    if chart_folder_problem(release, base_dir) or release_tree_problem(
            _answers(release, draft, base_dir, OFF["monitoring"], OFF["ci"])):
        return []
    chosen = {**OFF, section: data or {}}
    missing = switched_charts_missing(_answers(release, draft, base_dir, chosen["monitoring"], chosen["ci"]))
    try:
        fetchable = set(release_profile(release.version, base_dir).chart_sources)
    except ProfileError:
        fetchable = set()
    errors = []
    for key, paths in missing.items():
        where, loc = SWITCH_FIELDS[key]
        if where != section:
            continue
        them = "it" if len(paths) == 1 else "them"
        fetched = (f" (install.sh bundle create fetches {them} from "
                   f"{'its Helm repository' if them == 'it' else 'their Helm repositories'})"
                   if set(paths) <= fetchable else "")
        errors.append(FieldError(loc, key, f"needs {', '.join(paths)}, missing in {release.charts}: turn it off ({key}: "
                                 f"false), use an air-gap bundle that carries {them}{fetched}, or add {them} to "
                                 "the chart folder"))
    return errors


def chart_errors(section: str, data: Any, draft: dict, base_dir: Path) -> list[FieldError]:
    """The chart check of a section that is valid by its model: the release against its folder, a switch of
    monitoring or ci against the draft's folder; nothing for the other sections."""
    if section == "release":
        return release_errors(data, draft, base_dir)
    return switch_errors(section, data, draft, base_dir)
