"""Which releases an install deploys, what each waits for, and the waves they form.

A release waits for the releases it `needs` (the helmfiles' explicit needs) and for every
release of the modules its module depends on (DIGIT's digit-helmfile runs the backbone helmfile
to completion before the core one). Waves are longest-path layers: a release's wave is one more
than the latest wave among what it waits for, so releases of one wave can deploy together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The answer that leaves out a release chosen by a condition.
_SWITCHES = {"monitoring": "monitoring.enabled: false", "tracing": "monitoring.tracing: false",
             "jenkins": "ci.jenkins: false"}


class PlanError(Exception):
    """The plan cannot be built; the message names the culprit."""

    def __init__(self, message: str, key: str = "", missing: list[str] | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.missing = missing or []  # charts the chart source lacks, when that is the reason
        self.hint = hint


@dataclass(frozen=True)
class PlannedRelease:
    name: str
    chart: Path                      # absolute chart directory
    chart_ref: str                   # as in the profile, relative to release.charts
    namespace: str
    module: str
    needs: tuple[str, ...]           # explicit needs from the profile
    waits_for: tuple[str, ...]       # needs plus module order: what must be ready first
    wave: int
    timeout_seconds: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "chart": self.chart_ref, "chart_path": str(self.chart),
                "namespace": self.namespace, "module": self.module, "needs": list(self.needs),
                "waits_for": list(self.waits_for), "wave": self.wave, "timeout_seconds": self.timeout_seconds}


@dataclass(frozen=True)
class ReleaseGraph:
    modules: tuple[str, ...]
    releases: tuple[PlannedRelease, ...]   # sorted by (wave, name)
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (release, why) left out by a condition

    @property
    def waves(self) -> list[list[str]]:
        out: list[list[str]] = []
        for release in self.releases:
            while len(out) <= release.wave:
                out.append([])
            out[release.wave].append(release.name)
        return out

    def release(self, name: str) -> PlannedRelease:
        return next(r for r in self.releases if r.name == name)

    @property
    def namespaces(self) -> list[str]:
        return sorted({r.namespace for r in self.releases})


def conditions_for(answers: Any) -> dict[str, bool]:
    monitoring = bool(answers.monitoring.enabled)
    return {
        "in_cluster_database": answers.database.mode == "in-cluster",
        "monitoring": monitoring,
        "tracing": monitoring and bool(answers.monitoring.tracing),
        "jenkins": bool(answers.ci.jenkins),
    }


def select_modules(profile: Any, requested: list[str], conditions: dict[str, bool]) -> list[str]:
    known = {m.name for m in profile.modules}
    for index, name in enumerate(requested):
        if name not in known:
            raise PlanError(f"module {name!r} does not exist in release profile {profile.name} "
                            f"(modules: {', '.join(sorted(known))})", key=f"release.modules[{index}]")
    wanted = list(requested) or list(profile.default_modules)
    # Monitoring and CI are chosen by their own answers, not by the module list.
    if conditions["monitoring"] and "monitoring" in known:
        wanted.append("monitoring")
    if conditions["jenkins"] and "ci" in known:
        wanted.append("ci")
    with_dependencies: list[str] = profile.with_dependencies(wanted)
    return with_dependencies


def _module_closure(profile: Any, name: str) -> set[str]:
    seen: set[str] = set()
    stack = list(profile.module(name).depends) if profile.module(name) else []
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        module = profile.module(current)
        if module is not None:
            stack.extend(module.depends)
    return seen


def build_graph(profile: Any, charts_root: Path, requested_modules: list[str], conditions: dict[str, bool],
                default_timeout: int = 600) -> ReleaseGraph:
    modules = select_modules(profile, requested_modules, conditions)
    chosen, skipped = [], []
    for spec in profile.releases:
        if spec.module not in modules:
            continue
        if spec.when is not None and not conditions.get(spec.when, False):
            skipped.append((spec.name, f"condition {spec.when} is false"))
            continue
        chosen.append(spec)
    names = {spec.name for spec in chosen}
    skipped_names = dict(skipped)
    by_module: dict[str, list[str]] = {}
    for spec in chosen:
        by_module.setdefault(spec.module, []).append(spec.name)

    waits: dict[str, set[str]] = {}
    for spec in chosen:
        for need in spec.needs:
            if need not in names:
                why = (f"it is left out ({skipped_names[need]})" if need in skipped_names
                       else "its module is not selected" if any(r.name == need for r in profile.releases)
                       else "no release has that name")
                raise PlanError(f"release {spec.name} needs {need}, which is not in the plan: {why}",
                                key=f"releases.{spec.name}.needs")
        earlier = {other for module in _module_closure(profile, spec.module) for other in by_module.get(module, [])}
        waits[spec.name] = set(spec.needs) | earlier

    missing = [spec for spec in chosen if not (charts_root / spec.chart / "Chart.yaml").is_file()]
    if missing:
        listed = ", ".join(f"{spec.name} ({charts_root / spec.chart})" for spec in missing)
        hints = sorted({_SWITCHES[spec.when] for spec in missing if spec.when in _SWITCHES})
        hint = f"; add the charts to the chart source, or set {' and '.join(hints)}" if hints else ""
        raise PlanError(f"chart missing in {charts_root}: {listed}{hint}", key="release.charts",
                        missing=[spec.name for spec in missing], hint=hint)

    waves = _layers(waits)
    timeout_of = {spec.name: spec.timeout_seconds or default_timeout for spec in chosen}
    releases = sorted(
        (PlannedRelease(name=spec.name, chart=(charts_root / spec.chart).resolve(), chart_ref=spec.chart,
                        namespace=spec.namespace, module=spec.module, needs=tuple(spec.needs),
                        waits_for=tuple(sorted(waits[spec.name])), wave=waves[spec.name],
                        timeout_seconds=int(timeout_of[spec.name]))
         for spec in chosen),
        key=lambda r: (r.wave, r.name),
    )
    return ReleaseGraph(modules=tuple(modules), releases=tuple(releases), skipped=tuple(sorted(skipped)))


def _layers(waits: dict[str, set[str]]) -> dict[str, int]:
    """Wave of every node; a cycle raises PlanError naming it."""
    wave: dict[str, int] = {}
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> int:
        if state.get(node) == "done":
            return wave[node]
        if state.get(node) == "active":
            cycle = trail[trail.index(node):] + [node]
            raise PlanError("release dependency cycle: " + " -> ".join(cycle), key="releases")
        state[node] = "active"
        trail.append(node)
        depth = 0
        for dep in sorted(waits[node]):
            depth = max(depth, visit(dep, trail) + 1)
        trail.pop()
        state[node] = "done"
        wave[node] = depth
        return depth

    for node in sorted(waits):
        visit(node, [])
    return wave


@dataclass(frozen=True)
class ChartGap:
    """Why a chart tree cannot serve the answers' release profile and modules: the profile cannot be read
    (`profile` None), the folder is not there, or the graph fails; `missing` names the releases whose charts
    the folder lacks (their chart paths in `charts`), as the configure step would find them."""

    profile: Any
    folder: Path
    reason: str
    missing: tuple[str, ...] = ()
    charts: tuple[str, ...] = ()
    hint: str = ""


def chart_gap(answers: Any) -> ChartGap | None:
    """The one check of a chart tree against a release profile, without touching anything (None: it serves it).

    `validate`, preflight, the wizard's Release and Monitoring pages and the upgrade's target list all read
    it, each in its own words, so a profile that does not match the tree is found where the mistake is made."""
    from installer.profiles import ProfileError, release_profile

    folder = Path(answers.release.charts)
    try:
        profile = release_profile(answers.release.version, answers.base_dir)
    except ProfileError as exc:
        return ChartGap(None, folder, str(exc))
    if not folder.is_dir():
        return ChartGap(profile, folder, f"the chart source {folder} (release.charts) is not a folder")
    try:
        build_graph(profile, folder, list(answers.release.modules), conditions_for(answers))
    except PlanError as exc:
        return chart_gap_of(profile, folder, exc)
    return None


def chart_gap_of(profile: Any, folder: Path, error: PlanError) -> ChartGap:
    """The gap a PlanError of this profile's graph names (the releases it lacks, with their chart paths)."""
    chart_of = {spec.name: spec.chart for spec in profile.releases}
    return ChartGap(profile, folder, str(error), tuple(error.missing),
                    tuple(chart_of.get(name, name) for name in error.missing), error.hint)


def release_tree_problem(answers: Any) -> str | None:
    """Why the chart tree cannot serve the answers' release profile and modules, or None when it can
    (the count and the first few chart paths, not every one)."""
    gap = chart_gap(answers)
    if gap is None or not gap.missing:
        return gap.reason if gap else None
    shown = ", ".join(gap.charts[:6]) + (f" and {len(gap.charts) - 6} more" if len(gap.charts) > 6 else "")
    return f"{len(gap.charts)} chart(s) of release {gap.profile.name} missing in {gap.folder}: {shown}{gap.hint}"


def switched_charts_missing(answers: Any) -> dict[str, list[str]]:
    """The chart paths the chart source lacks among the releases a switch brings in, by that switch's answer
    (monitoring.enabled, monitoring.tracing, ci.jenkins); empty when they are all there, or when the tree
    cannot serve the release at all (release_tree_problem says why). The wizard's Monitoring page refuses
    a switch whose charts are missing, where it is turned on."""
    gap = chart_gap(answers)
    if gap is None or not gap.missing:
        return {}
    spec_of = {spec.name: spec for spec in gap.profile.releases}
    found: dict[str, list[str]] = {}
    for name in gap.missing:
        spec = spec_of.get(name)
        if spec is not None and spec.when in _SWITCHES:
            found.setdefault(_SWITCHES[spec.when].split(":")[0], []).append(spec.chart)
    return found


def profile_waves(profile: Any) -> dict[str, int]:
    """The wave of every release the profile knows, whatever modules or conditions an install chose.

    Uninstall removes in the reverse of these waves: an install may have had more modules, or other
    answers, when it deployed than the answers give now, and its charts may be gone.
    """
    names = {spec.name for spec in profile.releases}
    by_module: dict[str, list[str]] = {}
    for spec in profile.releases:
        by_module.setdefault(spec.module, []).append(spec.name)
    waits = {spec.name: {n for n in spec.needs if n in names}
             | {other for module in _module_closure(profile, spec.module) for other in by_module.get(module, [])}
             for spec in profile.releases}
    return _layers(waits)
