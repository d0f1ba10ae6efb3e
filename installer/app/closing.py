"""The last words of a run on the terminal: the same block after every face.

A live display (the rich face, the wizard) goes away when the run ends, and a JSON stream is
for programs; the operator still needs the URLs, the commands that read the generated
credentials, and, when the run stopped, what failed, what to do and how to resume. This is
built from the state directory alone (the journal's last run and the summary step's recorded
text), so the headless run and the wizard, after it closes, print exactly the same thing.
"""
from __future__ import annotations

import os
import shlex
import textwrap
from pathlib import Path
from typing import IO

from installer import redact
from installer.engine import journal as jr
from installer.invocation import install_sh

SUMMARY_STEP = "summary"


def resume_command(answers_path: Path | None, state_dir: Path | None = None, command: str = "",
                   options: tuple[str, ...] = ()) -> str:
    """The command that continues this run (with --state-dir only when it was given explicitly; `options`
    are the command's own, e.g. upgrade's --to PROFILE)."""
    words = [install_sh()] + ([command] if command else [])
    words += ["--answers", str(answers_path) if answers_path else "FILE", *options]
    if state_dir is not None:
        words += ["--state-dir", str(state_dir)]
    return " ".join([words[0], *(shlex.quote(w) if w != "FILE" else w for w in words[1:])]) + " --resume"


def closing_text(state_dir: Path, answers_path: Path | None = None, *, explicit_state_dir: bool = False,
                 command: str = "", what: str = "install", resume_options: tuple[str, ...] = (),
                 with_summary: bool = True) -> str:
    """How the last run recorded in state_dir ended and what comes next; '' when nothing was recorded.

    with_summary=False leaves out the summary step's text (an upgrade has none of its own: the install's
    would name the profile it was installed from)."""
    state_dir = Path(state_dir)
    try:
        journal = jr.Journal.load(state_dir, running_is_dead=False)
    except jr.JournalError as exc:
        return redact.mask(f"✗ {exc}")
    if not journal.runs:
        return ""
    run = journal.runs[-1]
    outcome = run.get("outcome")
    name = journal.install or "?"
    lines: list[str] = []
    if outcome == jr.SUCCEEDED:
        lines.append(f"✓ The {what} of {name!r} succeeded.")
        record = journal.get(SUMMARY_STEP) if with_summary else None
        text = (record.outputs.get("text") if record and record.outcome == jr.SUCCEEDED else "") or ""
        if text:
            lines += ["", *text.splitlines()]
    else:
        stopped = next((r for r in journal.steps.values() if r.outcome in (jr.FAILED, jr.INTERRUPTED)), None)
        verb = "was interrupted" if outcome == jr.INTERRUPTED else "failed"
        if stopped is not None:
            lines.append(f"✗ The {what} of {name!r} {verb} at step {stopped.id}:")
            lines += [f"  {line}" for line in (stopped.message or "(no message)").splitlines()]
            if stopped.remediation:
                lines.append("What to do:")
                lines += [f"  {line}" for line in stopped.remediation.splitlines()]
        else:
            lines.append(f"✗ The {what} of {name!r} {verb}.")
        lines.append("Then resume with:")
        lines.append("  " + resume_command(answers_path, state_dir if explicit_state_dir else None, command,
                                           resume_options))
    if run.get("log_path") and str(run["log_path"]) not in "\n".join(lines):  # the summary names it already
        lines.append(f"Debug log: {run['log_path']}")
    return redact.mask("\n".join(lines))


# Lines that are commands to copy: never broken (the terminal's own soft wrap keeps them one line when copied).
# A command may start with the environment it needs (the upgrade's going-back lines: PGPASSWORD read from where
# the answers keep it, Helm's storage driver).
_COMMANDS = ("./install.sh", "kubectl ", "pg_restore ", "helm ", "PGPASSWORD=", "PGSSLMODE=", "HELM_DRIVER=")


def _commands() -> tuple[str, ...]:
    return (*_COMMANDS, install_sh() + " ")


def fit_to_terminal(text: str, width: int) -> str:
    """text with every line wider than width wrapped at spaces, continued under its own indent, so a
    terminal never cuts a word in two; commands and words longer than a line (paths) stay whole."""
    out: list[str] = []
    for line in text.splitlines():
        body = line.lstrip(" ")
        if len(line) <= width or body.startswith(_commands()):
            out.append(line)
            continue
        indent = " " * (len(line) - len(body))
        out += textwrap.wrap(body, width=width, initial_indent=indent, subsequent_indent=indent + "  ",
                             break_long_words=False, break_on_hyphens=False) or [line]
    return "\n".join(out)


def write_closing(text: str, stream: IO[str]) -> None:
    """The closing block on stream after a blank line, fitted to the terminal when stream is one."""
    try:
        width = os.get_terminal_size(stream.fileno()).columns if stream.isatty() else 0
    except (AttributeError, ValueError, OSError):
        width = 0
    stream.write("\n" + (fit_to_terminal(text, width) if width >= 40 else text) + "\n")
    stream.flush()
