"""Older answers versions brought to the current one on load."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from installer.answers.models import ANSWERS_VERSION


# version -> function upgrading a plain document of that version by one step
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}



def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring an older document up to ANSWERS_VERSION, one version at a time."""
    version = data.get("version")
    while isinstance(version, int) and version < ANSWERS_VERSION and version in _MIGRATIONS:
        data = _MIGRATIONS[version](data)
        version = data.get("version")
    return data
