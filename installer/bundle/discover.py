"""Every image a set of rendered manifests names, wherever it hides.

Others' bundles failed at deploy time on images used only in a hook Job, an argument or a
custom resource, so three nets are cast over every document (render with hooks included):
1. pod specs anywhere (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, bare Pods, and
   pod templates inside custom resources): containers, initContainers, ephemeralContainers;
2. any key named like an image (`image`, `*Image`) with a reference as its value, and
   `repository` + `tag` (+ `registry`) triples, in custom resources and their CRDs' defaults;
3. any other string (args, env values, ConfigMap data) split into words, keeping the words
   that are image references with a registry path and a tag or digest (cert-manager's
   `--acme-http01-solver-image=quay.io/jetstack/cert-manager-acmesolver:v1.13.3`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from installer.bundle.reference import ReferenceError, parse

_POD_LISTS = ("containers", "initContainers", "ephemeralContainers")
_NOT_IMAGES = {"imagepullpolicy", "imagepullsecrets"}
# host/path:tag or host/path@sha256:...: at least one '/', and a tag or a digest
_WORD = re.compile(r"(?<![\w./:@-])((?:[a-z0-9][a-z0-9.-]*(?::\d+)?/)?[a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)+"
                   r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?)(?![\w./:@-])")


def images_in(documents: Iterable[Any]) -> set[str]:
    """The image references (as written) in rendered documents."""
    found: set[str] = set()
    for document in documents:
        _walk(document, found, None)
    return found


def _add(found: set[str], value: Any) -> None:
    if isinstance(value, str):
        try:
            parse(value)
        except ReferenceError:
            return
        found.add(value.strip())


def _walk(node: Any, found: set[str], key: str | None) -> None:
    if isinstance(node, dict):
        for list_key in _POD_LISTS:
            for container in node.get(list_key) or []:
                if isinstance(container, dict):
                    _add(found, container.get("image"))
        repository = node.get("repository")
        if isinstance(repository, str) and isinstance(node.get("tag"), (str, int, float)) and repository:
            registry = node.get("registry")
            prefix = f"{registry}/" if isinstance(registry, str) and registry else ""
            _add(found, f"{prefix}{repository}:{node['tag']}")
        for child_key, value in node.items():
            name = str(child_key)
            lowered = name.lower()
            if isinstance(value, str) and lowered.endswith("image") and lowered not in _NOT_IMAGES:
                _add(found, value)
            _walk(value, found, name)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found, key)
    elif isinstance(node, str) and "/" in node:
        for match in _WORD.finditer(node):
            word = match.group(1)
            if ":" in word.rsplit("/", 1)[-1] or "@sha256:" in word:
                _add(found, word)
