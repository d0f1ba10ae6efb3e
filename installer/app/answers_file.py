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


def inspect_target(answers_path: str | None, override: str | None) -> tuple[Answers | None, Path | None]:
    """For commands that look at an install (status, support-bundle) and must work on a broken setup.

    The answers when they load; else, after their problems were printed, the state directory from
    --state-dir or from the file's `name:` line alone (a bad profile or a typo elsewhere must not
    hide the state of the install). (None, None) when no state directory can be found.
    """
    import re
    import sys

    if answers_path is None:
        return None, (Path(override) if override else None)
    answers = load(answers_path)
    if answers is not None:
        return answers, state_dir_of(answers, override)
    if override:
        sys.stderr.write("the answers file cannot be used (above); reading the state directory alone\n")
        return None, Path(override)
    try:
        text = Path(answers_path).read_text(encoding="utf-8", errors="replace")[:1_000_000]
    except OSError:
        return None, None
    found = re.search(r"^name:[ \t]*['\"]?([A-Za-z0-9][A-Za-z0-9._-]*)['\"]?[ \t]*(#.*)?$", text, re.MULTILINE)
    if not found:
        return None, None
    sys.stderr.write(f"the answers file cannot be used (above); reading the state directory of "
                     f"{found.group(1)!r} alone\n")
    return None, state_dir_for(found.group(1), None)
