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
