"""Content digests of charts as they would be staged (a chart's files plus its file:// dependencies).

Pure Python. The plan records these digests so a rerun can tell an unchanged chart from a new one.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from installer.adapters.helm.interface import ChartNeedsNetwork, HelmEngineError
from installer.adapters.helm.staging import declared_dependencies, file_dependency, vendored


def tree_digest(root: Path) -> str:
    """sha256 over every file's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


def chart_digest(chart: Path, _trail: tuple[Path, ...] = ()) -> str:
    """The digest of a chart as it would be staged: its files plus, recursively, its file:// dependencies."""
    chart = Path(chart).resolve()
    digest = hashlib.sha256(tree_digest(chart).encode())
    if chart in _trail:
        raise HelmEngineError(f"file:// dependency cycle at {chart}", kind="chart")
    for dep in declared_dependencies(chart):
        source = file_dependency(chart, dep)
        if source is not None:
            digest.update(chart_digest(source, (*_trail, chart)).encode())
        elif not vendored(chart, str(dep.get("name", ""))):
            raise ChartNeedsNetwork(chart, str(dep.get("name", "")), str(dep.get("repository", "") or ""))
    return "sha256:" + digest.hexdigest()
