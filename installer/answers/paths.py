"""Paths in the answers file are relative to the file itself.

They are made absolute while validating (the loader passes the file's folder
as `base_dir` in the validation context), so the rest of the installer never
has to know where the answers came from. `{file: PATH}` is accepted as well as a
bare string, matching the shape of secret references.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, SerializationInfo, ValidationInfo, WithJsonSchema


def safe_resolve(path: Path) -> Path:
    """Path.resolve(), except that a symlink loop gives the absolute path instead of an exception.

    Whatever then opens the path reports the loop, naming the path.
    """
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return Path(os.path.abspath(path))


def _resolve(value: Any, info: ValidationInfo) -> Path:
    if isinstance(value, dict) and set(value) == {"file"}:
        value = value["file"]
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a path (a string, or {file: PATH})")
    base = Path((info.context or {}).get("base_dir") or Path.cwd())
    return safe_resolve(base / os.path.expanduser(value.strip()))


def _serialise(value: Path, info: SerializationInfo) -> str:
    """Write paths relative to the file being saved when they sit below it."""
    base = (info.context or {}).get("base_dir")
    if base:
        try:
            return str(Path(value).relative_to(Path(base).resolve()))
        except ValueError:
            pass
    return str(value)


ResolvedPath = Annotated[
    Path,
    BeforeValidator(_resolve),
    PlainSerializer(_serialise, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "object", "properties": {"file": {"type": "string"}}, "required": ["file"], "additionalProperties": False},
            ],
            "description": "A path, relative to the answers file.",
        }
    ),
]
