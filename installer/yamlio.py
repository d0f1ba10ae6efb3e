"""Fast, safe YAML reading for big machine-written documents (charts, rendered manifests).

The answers file goes through ruamel (installer/answers/loader.py) for line numbers and
round-tripping; charts and manifests need neither, and they are large, so they are read with
PyYAML's libyaml loader (PyYAML comes with the Kubernetes client) when it is compiled in.
"""
from __future__ import annotations

from typing import Any


def load_yaml(text: str) -> Any:
    """One YAML document as plain Python data (safe loader: no tags that build objects)."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


def load_yaml_all(text: str) -> list[Any]:
    """Every document of a multi-document stream (a rendered manifest), in order."""
    import yaml

    return list(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
