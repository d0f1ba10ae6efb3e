"""Chart staging: a private copy of each chart with its `file://` dependencies vendored.

DIGIT's charts depend on a `common` library chart by `file://` path. Helm would resolve such a
dependency by writing into the source tree (or by fetching); instead every `file://` dependency
is copied into the private copy's `charts/`, recursively, so the source tree is never written
to and nothing is fetched. A dependency that is neither `file://` nor vendored in `charts/`
raises ChartNeedsNetwork: in an air-gapped data centre that is a defect of the chart bundle.
Pure Python; Helm is not needed.
"""
from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path
from typing import Any

from installer.adapters.helm.interface import ChartNeedsNetwork, HelmEngineError
from installer.yamlio import load_yaml


def declared_dependencies(chart_dir: Path) -> list[dict[str, Any]]:
    """The dependencies Chart.yaml declares (or, for apiVersion v1 charts, requirements.yaml)."""
    meta = load_yaml((chart_dir / "Chart.yaml").read_text(encoding="utf-8")) or {}
    deps = meta.get("dependencies")
    if deps is None and (chart_dir / "requirements.yaml").is_file():
        deps = (load_yaml((chart_dir / "requirements.yaml").read_text(encoding="utf-8")) or {}).get("dependencies")
    return list(deps or [])


def vendored(chart_dir: Path, name: str) -> bool:
    """True when dependency `name` already sits in the chart's charts/ (as a directory or a .tgz)."""
    vendor = chart_dir / "charts"
    if not vendor.is_dir():
        return False
    if (vendor / name / "Chart.yaml").is_file():
        return True
    return any(p.name.startswith(f"{name}-") and p.name.endswith(".tgz") for p in vendor.iterdir())


def file_dependency(chart: Path, dep: dict[str, Any]) -> Path | None:
    """The chart directory a `file://` dependency points to; None for any other repository.

    Raises HelmEngineError(kind "chart") when the path is not a chart directory.
    """
    repository = str(dep.get("repository", "") or "")
    if not repository.startswith("file://"):
        return None
    source = (chart / repository[len("file://"):]).resolve()
    if not (source / "Chart.yaml").is_file():
        raise HelmEngineError(f"{chart / 'Chart.yaml'}: dependency {dep.get('name')!r} points to "
                              f"{repository!r}, which is not a chart directory ({source})", kind="chart")
    return source


class ChartStager:
    """Copies charts with their file:// dependencies vendored, once per source directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._staged: dict[Path, Path] = {}
        self._lock = threading.Lock()

    def stage(self, chart: Path) -> Path:
        """The staged copy's directory; raises HelmEngineError(kind "chart") or ChartNeedsNetwork."""
        chart = Path(chart).resolve()
        with self._lock:
            return self._stage(chart, ())

    def _stage(self, chart: Path, trail: tuple[Path, ...]) -> Path:
        if chart in self._staged:
            return self._staged[chart]
        if chart in trail:
            cycle = " -> ".join(str(p) for p in (*trail, chart))
            raise HelmEngineError(f"file:// dependency cycle: {cycle}", kind="chart")
        if not (chart / "Chart.yaml").is_file():
            raise HelmEngineError(f"{chart}: no Chart.yaml (not a chart directory)", kind="chart")
        try:
            deps = declared_dependencies(chart)
        except Exception as exc:  # malformed YAML is reported as a chart defect
            raise HelmEngineError(f"{chart / 'Chart.yaml'}: unreadable: {exc}", kind="chart") from exc
        key = hashlib.sha256(str(chart).encode()).hexdigest()[:16]
        target = self.root / key / chart.name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(chart, target, symlinks=False)
        for dep in deps:
            name = str(dep.get("name", ""))
            source = file_dependency(chart, dep)
            if source is not None:
                staged_dep = self._stage(source, (*trail, chart))
                vendor = target / "charts"
                vendor.mkdir(exist_ok=True)
                dest = vendor / staged_dep.name
                if dest.exists():
                    shutil.rmtree(dest)
                shutil.copytree(staged_dep, dest, symlinks=False)
            elif not vendored(chart, name):
                raise ChartNeedsNetwork(chart, name, str(dep.get("repository", "") or ""))
        self._staged[chart] = target
        return target
