"""The executor's Helm actions, over installer.adapters.helm's engine.

Release labels carry the installer version and the chart and values digests, so a later run (in any
process, on any jump host) can tell an unchanged release from one that needs an upgrade.
"""
from __future__ import annotations

import inspect
from typing import Any

from installer.deploy.executor import InstalledRelease
from installer.deploy.model import ReleaseSpec

_SETTLED = ("deployed", "superseded")


def supports_labels(engine: Any) -> bool:
    try:
        return "labels" in inspect.signature(engine.install).parameters
    except (TypeError, ValueError):
        return False


class EngineOperations:
    """HelmOperations over a HelmEngine (`installer.adapters.helm.HelmSdkEngine` or any compatible one)."""

    def __init__(self, engine: Any, *, action_timeout: float = 300.0):
        self.engine = engine
        self.action_timeout = action_timeout
        self._labels = supports_labels(engine)

    def current(self, name: str, namespace: str) -> InstalledRelease | None:
        from installer.adapters.helm import ReleaseNotFound

        try:
            history = self.engine.history(name, namespace=namespace)
        except ReleaseNotFound:
            return None
        if not history:
            return None
        latest = max(history, key=lambda r: r.revision)
        settled = [r for r in history if r.status == "deployed"] or [r for r in history if r.status in _SETTLED]
        last_deployed = max(settled, key=lambda r: r.revision).revision if settled else None
        return InstalledRelease(revision=latest.revision, status=latest.status,
                                labels=dict(getattr(latest, "labels", None) or {}),
                                last_deployed_revision=last_deployed)

    def apply(self, spec: ReleaseSpec, labels: dict[str, str], install: bool) -> tuple[int, str]:
        kwargs: dict[str, Any] = {"namespace": spec.namespace, "timeout": max(30, int(spec.timeout)),
                                  "description": f"digit-installer {labels.get('digit-installer-version', '')}"}
        if self._labels:
            kwargs["labels"] = labels
        if install:
            info = self.engine.install(spec.name, spec.chart, spec.values, **kwargs)
        else:
            info = self.engine.upgrade(spec.name, spec.chart, spec.values, **kwargs)
        return info.revision, info.manifest or ""

    def manifest(self, name: str, namespace: str) -> str:
        # `get` reads release storage only; `status` also queries the cluster and is several times slower.
        read = getattr(self.engine, "get", None) or self.engine.status
        info = read(name, namespace=namespace)
        return (info.manifest or "") if info is not None else ""

    def render(self, spec: ReleaseSpec) -> str:
        manifests = self.engine.render(spec.chart, spec.values, release=spec.name, namespace=spec.namespace)
        return "\n---\n".join(text for path, text in sorted(manifests.items()) if not path.endswith("NOTES.txt"))

    def rollback(self, name: str, namespace: str, revision: int) -> None:
        self.engine.rollback(name, namespace=namespace, revision=revision, timeout=self.action_timeout)

    def uninstall(self, name: str, namespace: str) -> None:
        self.engine.uninstall(name, namespace=namespace, timeout=self.action_timeout)
