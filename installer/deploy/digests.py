"""The release labels that carry the plan's digests, and the deployed manifest's fingerprint.

The digests themselves have one owner each: values_digest in plan/values.py, chart_digest in
adapters/helm/digests.py (a chart as the Helm adapter stages it).

Helm release labels end up as Kubernetes label values on a real cluster (63 characters at most),
so digests are stored shortened; 48 hex characters (192 bits) are plenty to detect a change.
"""
from __future__ import annotations

import hashlib
import json

from installer.adapters.helm.digests import chart_digest
from installer.plan.values import values_digest

__all__ = ["LABEL_CHART_DIGEST", "LABEL_VALUES_DIGEST", "LABEL_VERSION", "chart_digest", "is_unchanged",
           "label_value", "manifest_fingerprint", "release_labels", "values_digest"]

LABEL_VERSION = "digit-installer-version"
LABEL_VALUES_DIGEST = "digit-installer-values-digest"
LABEL_CHART_DIGEST = "digit-installer-chart-digest"
LABEL_INSTALL = "digit-installer-install"  # the answers `name` of the install that owns the release
_LABEL_DIGEST_LENGTH = 48


def label_value(digest: str) -> str:
    """A digest shortened to fit a label value."""
    return digest.split(":", 1)[-1][:_LABEL_DIGEST_LENGTH]


def release_labels(installer_version: str, chart: str, values: str, install: str = "") -> dict[str, str]:
    labels = {
        LABEL_VERSION: installer_version,
        LABEL_CHART_DIGEST: label_value(chart),
        LABEL_VALUES_DIGEST: label_value(values),
    }
    if install:
        labels[LABEL_INSTALL] = install
    return labels


def foreign_owner(labels: dict[str, str] | None, install: str, take_over: str | None = None) -> str | None:
    """The other install a release belongs to, unless it is ours or the operator named it to take over."""
    owner = (labels or {}).get(LABEL_INSTALL)
    if not owner or not install or owner in (install, take_over):
        return None
    return owner


def is_unchanged(labels: dict[str, str] | None, chart: str, values: str) -> bool:
    """True when a deployed revision's labels record exactly these chart and values digests."""
    if not labels:
        return False
    return (labels.get(LABEL_CHART_DIGEST) == label_value(chart)
            and labels.get(LABEL_VALUES_DIGEST) == label_value(values))


def manifest_fingerprint(manifest: str) -> str:
    """sha256 of a release's objects, independent of document order and formatting; hooks left out.

    Helm stores hooks apart from the manifest, so a freshly rendered chart and a deployed revision
    compare equal exactly when the objects Helm would apply are the same.
    """
    from ruamel.yaml import YAML

    objects = []
    for document in YAML(typ="safe", pure=True).load_all(manifest or ""):
        if not isinstance(document, dict):
            continue
        annotations = (document.get("metadata") or {}).get("annotations") or {}
        if "helm.sh/hook" in annotations:
            continue
        objects.append(json.dumps(document, sort_keys=True, default=str))
    return "sha256:" + hashlib.sha256("\n".join(sorted(objects)).encode()).hexdigest()
