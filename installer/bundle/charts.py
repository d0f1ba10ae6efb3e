"""Charts DIGIT-DevOps does not ship (monitoring), fetched from Helm repositories at pinned versions.

The LTS monitoring helmfile pulls kube-prometheus-stack, Grafana and Jaeger from public Helm
repositories at deploy time, which an air-gapped site cannot do. The release profile names them
(`chart_sources`: chart path -> repository, name, version); when the chart source lacks one an
enabled release needs, `bundle create` reads the repository's index.yaml, downloads that
version's archive, checks it against the index's sha256 and unpacks it at the chart path of a
copy of the chart tree, from which the bundle is then made.
"""
from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from installer.bundle.manifest import BundleError

MAX_CHART_BYTES = 64 * 1024 * 1024


def _get(url: str, timeout: float, limit: int = MAX_CHART_BYTES) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a profile chart_sources URL
            data: bytes = response.read(limit + 1)
    except OSError as exc:
        raise BundleError(f"{url}: {exc}") from None
    if len(data) > limit:
        raise BundleError(f"{url}: larger than {limit // 1048576} MiB")
    return data


def fetch_chart(source: Any, target: Path, timeout: float = 60.0) -> str:
    """Unpack `source` (repo, name, version) at `target`; returns the archive's sha256."""
    from installer.adapters.helm import load_yaml

    repo = source.repo.rstrip("/") + "/"
    index = load_yaml(_get(urllib.parse.urljoin(repo, "index.yaml"), timeout).decode("utf-8")) or {}
    entries = (index.get("entries") or {}).get(source.name) or []
    entry = next((e for e in entries if str(e.get("version")) == source.version), None)
    if entry is None:
        known = ", ".join(sorted({str(e.get("version")) for e in entries})[:10]) or "none"
        raise BundleError(f"{repo}: no chart {source.name} version {source.version} (versions: {known})")
    urls = entry.get("urls") or []
    if not urls:
        raise BundleError(f"{repo}: chart {source.name} {source.version} lists no archive")
    archive = _get(urllib.parse.urljoin(repo, str(urls[0])), timeout)
    digest = hashlib.sha256(archive).hexdigest()
    if entry.get("digest") and entry["digest"] != digest:
        raise BundleError(f"{repo}: chart {source.name} {source.version}: the archive's sha256 {digest} is not the "
                          f"index's {entry['digest']}")
    with tempfile.TemporaryDirectory(prefix="digit-chart-") as scratch:
        try:
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
                tar.extractall(scratch, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise BundleError(f"{repo}: chart {source.name} {source.version}: {exc}") from None
        unpacked = Path(scratch) / source.name
        if not (unpacked / "Chart.yaml").is_file():
            raise BundleError(f"{repo}: chart {source.name} {source.version}: no {source.name}/Chart.yaml in the archive")
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(unpacked), target)
    return digest


def missing_sources(profile: Any, charts_root: Path, needed: list[str]) -> dict[str, Any]:
    """Chart path -> source, for the charts `needed` that the tree lacks and the profile can fetch."""
    return {path: profile.chart_sources[path] for path in needed
            if path in profile.chart_sources and not (charts_root / path / "Chart.yaml").is_file()}


def completed_tree(charts_root: Path, sources: dict[str, Any], scratch: Path, timeout: float = 60.0
                   ) -> tuple[Path, dict[str, str]]:
    """A copy of the chart tree with the missing charts fetched into it; (root, path -> archive sha256)."""
    tree = scratch / "charts"
    shutil.copytree(charts_root, tree, symlinks=True)
    fetched = {path: fetch_chart(source, tree / path, timeout) for path, source in sorted(sources.items())}
    return tree, fetched
