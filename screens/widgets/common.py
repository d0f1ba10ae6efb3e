"""What the form widgets share: the "no value" marker, how a value is shown in a text box, DOM ids, and the
message a widget posts when its value changed in a way the built-in widgets' own messages do not tell."""
from __future__ import annotations

from typing import Any

from textual.message import Message

from screens.questions import Loc

OMIT = object()


def plain_text(value: Any) -> str:
    if value is None or value is OMIT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict) and set(value) == {"file"}:
        return str(value["file"])
    return str(value)


def widget_id(loc: Loc, prefix: str = "f") -> str:
    parts = [str(p).replace("-", "_") for p in loc]
    return prefix + "-" + "-".join(parts) if parts else prefix


class ValueChanged(Message):
    """A group was switched on or off, a variant chosen, an item added or removed: the form re-validates."""
