"""Input digests: a step reruns on --resume when the answer sections it reads have changed."""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from pathlib import PurePath
from typing import Any

MISSING = "<absent>"


def plain(value: Any) -> Any:
    """A JSON-shaped, order-stable view of an answers value (pydantic model, dataclass, path, ...)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "model_dump"):
        return plain(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, enum.Enum):
        return plain(value.value)
    return repr(value)


def lookup(answers: Any, dotted: str) -> Any:
    current = answers
    for part in dotted.split("."):
        if current is None:
            return MISSING
        if isinstance(current, dict):
            if part not in current:
                return MISSING
            current = current[part]
        elif hasattr(current, part):
            current = getattr(current, part)
        else:
            return MISSING
    return current


def hash_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def section_digests(answers: Any, sections: tuple[str, ...] | list[str]) -> dict[str, str]:
    return {name: hash_json(plain(lookup(answers, name))) for name in sections}


def combine(parts: dict[str, str]) -> str:
    return hash_json(sorted(parts.items()))


def step_inputs(step: Any, answers: Any) -> dict[str, str]:
    """The named digests of what a step reads: its answer sections, and its `+extra` inputs (chart contents,
    say). The engine compares them with the journal's to decide whether the step reruns; a step that wants to
    know whether its own earlier result is still the one the engine would keep (the upgrade's backup) asks the
    same function."""
    parts = section_digests(answers, step.sections)
    if step.extra_inputs is not None:
        parts.update({f"+{k}": v for k, v in step.extra_inputs(answers).items()})
    return parts
