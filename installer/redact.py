"""Process-wide registry of secret values, so every output path can mask them.

Secrets are registered the moment they are resolved; anything that leaves the
process (terminal, log file, journal, events, support bundle) goes through
`mask` first. Short fragments are not registered on their own because masking a
two-letter string everywhere would destroy every message without protecting
anything.
"""
from __future__ import annotations

import threading
from typing import Any

MASK = "******"
_MIN_LENGTH = 4

_lock = threading.Lock()
_values: set[str] = set()
_ordered: list[str] = []


def register(value: str | bytes | None) -> None:
    """Remember a secret value (and each of its lines, for multi-line keys)."""
    if value is None:
        return
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    candidates = {value, value.strip()}
    candidates.update(line.strip() for line in value.splitlines())
    with _lock:
        changed = False
        for candidate in candidates:
            if len(candidate) >= _MIN_LENGTH and candidate not in _values:
                _values.add(candidate)
                changed = True
        if changed:
            _ordered[:] = sorted(_values, key=len, reverse=True)


def mask(text: str) -> str:
    """Replace every registered secret in `text` (longest first)."""
    if not text or not _ordered:
        return text
    for value in _ordered:
        if value in text:
            text = text.replace(value, MASK)
    return text


def mask_tree(value: Any) -> Any:
    """Mask every string inside a JSON-shaped value (masking the dumped text would miss escaped forms)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask_tree(k): mask_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_tree(v) for v in value]
    return value


def forget_all() -> None:
    """For tests that need a clean registry."""
    with _lock:
        _values.clear()
        _ordered.clear()
