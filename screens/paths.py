"""Paths as an operator reads them: relative to where the wizard was started when they lie below it."""
from __future__ import annotations

import os
from pathlib import Path


def shown_path(path: Path | str) -> str:
    """`answers.yaml` or `sites/uat/answers.yaml` below the current directory; the absolute path elsewhere."""
    path = Path(path)
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        return str(path)
    text = str(relative)
    return text if text != "." else "." + os.sep


def unused_path(path: Path) -> Path:
    """`path` when nothing is there yet, else the first free `answers-2.yaml`, `answers-3.yaml`, ... beside it:
    a fresh install must never be saved over another installation's answers or draft."""
    path = Path(path)
    candidate, number = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        number += 1
    return candidate
