"""What every command does first: load the answers file (problems printed) and find the state dir."""
from __future__ import annotations

from pathlib import Path

from installer.answers import Answers, load_or_report
from installer.state import state_dir_for


def load(path: str | Path) -> Answers | None:
    """The answers, or None after every problem was printed as FILE:LINE:COL: key: message."""
    return load_or_report(Path(path))


def state_dir_of(answers: Answers | None, override: str | None) -> Path:
    return state_dir_for(answers.name if answers is not None else None, override)
