"""Which installs can be upgraded, and opening one: shared by the wizard's install page and line mode.

Kept free of textual, so line mode (a serial console, TERM=dumb) finds and opens installs the way the
full-screen wizard does without loading it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from screens.paths import shown_path

UNINSTALLED = "uninstalled"  # describe_install's word for an install whose last run was a finished uninstall
GONE = "uninstalled (its releases were removed): nothing to upgrade; install it again first"
RUNNING = "running now"


def answers_files(*folders: Path, extra: Path | None = None) -> list[Path]:
    """YAML files in these folders (and `extra`) that are not wizard drafts, each once."""
    from installer.answers import is_draft

    seen: dict[Path, None] = {}
    for candidate in [*(sorted(p for f in folders if f.is_dir() for p in f.iterdir() if p.suffix in (".yaml", ".yml"))),
                      *([extra] if extra is not None else [])]:
        try:
            if candidate.is_file() and candidate.stat().st_size < 1_000_000 and \
                    not is_draft(candidate.read_text(encoding="utf-8", errors="replace")[:512]):
                seen.setdefault(candidate.resolve(), None)
        except OSError:
            continue
    return list(seen)


def install_name(path: Path) -> str | None:
    """The top-level `name:` of an answers file, read as text (the file is loaded properly once chosen)."""
    import re

    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:1_000_000]
    except OSError:
        return None
    if not re.search(r"^version:", text, re.MULTILINE):
        return None
    found = re.search(r"^name:[ \t]*['\"]?([A-Za-z0-9][A-Za-z0-9._-]*)['\"]?[ \t]*(#.*)?$", text, re.MULTILINE)
    return found.group(1) if found else None


@dataclass
class FoundInstalls:
    """(label, answers file) of each install that can be upgraded, and why others are not offered."""

    found: list[tuple[str, Path]]
    not_offered: list[str]


def find_installs(state: Any) -> FoundInstalls:
    """The installs a wizard state can upgrade.

    Answers files beside the wizard (the current directory, the file it was started with) whose install
    has a journal come first; then the copies installs keep in their state directories (with --state-dir,
    only that directory's). An install whose releases were uninstalled is not offered, and says so."""
    from installer.state import state_dir_for
    from screens.state import describe_install

    found: list[tuple[str, Path]] = []
    names: set[str] = set()
    not_offered: list[str] = []
    for path in answers_files(Path.cwd(), state.answers_path.parent, extra=state.answers_path):
        name = install_name(path)
        if name is None:
            continue
        state_dir = state_dir_for(name, state.state_dir)
        if (state_dir / "journal.json").is_file():
            names.add(name)
            outcome = describe_install(state_dir)
            if outcome == UNINSTALLED:
                not_offered.append(f"install {name} ({shown_path(path)}): {GONE}")
                continue
            found.append((f"{shown_path(path)}: install {name}, {outcome}", path))
    if state.state_dir is not None:
        copies = [(install_name(state.state_dir / "answers.yaml"), state.state_dir)]
    else:
        copies = [(p.name, p.state_dir) for p in state.previous]
    for name, state_dir in copies:
        if name and name not in names and (state_dir / "journal.json").is_file():
            outcome = describe_install(state_dir)
            if outcome == UNINSTALLED:
                not_offered.append(f"install {name}: {GONE}")
                continue
            found.append((f"install {name}: {outcome}  (the copy in its state directory)", state_dir / "answers.yaml"))
    return FoundInstalls(found, not_offered)


class InstallRefused(Exception):
    """This answers file names no install that can be upgraded now (the message says why)."""


@dataclass
class OpenedInstall:
    answers: Any
    path: Path
    state_dir: Path
    outcome: str  # as `status` says it


def open_install(path: Path, state_dir_override: Path | None) -> OpenedInstall:
    """The install an answers file was made from, read and found; InstallRefused when it cannot be upgraded
    (unreadable, never installed there, uninstalled, a run going on now)."""
    from installer.answers import AnswersError, load_answers
    from installer.state import state_dir_for
    from screens.state import describe_install

    try:
        answers = load_answers(path)
    except AnswersError as exc:
        raise InstallRefused("\n".join(str(p) for p in exc.problems[:3])) from None
    except OSError as exc:
        raise InstallRefused(f"{path}: {exc.strerror or exc}") from None
    state_dir = state_dir_for(answers.name, state_dir_override)
    if not (state_dir / "journal.json").is_file():
        raise InstallRefused(f"no install {answers.name!r} in {shown_path(state_dir)} (nothing was installed from "
                             "this file there)")
    outcome = describe_install(state_dir)
    if outcome == UNINSTALLED:
        raise InstallRefused(f"install {answers.name!r} was {GONE} (./install.sh --answers {shown_path(path)})")
    if outcome == RUNNING:
        raise InstallRefused(f"a run of {answers.name!r} is going on now; wait for it to finish")
    return OpenedInstall(answers, path, state_dir, outcome)
