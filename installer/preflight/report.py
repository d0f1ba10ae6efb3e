"""The preflight report as a table grouped by source, or as one JSON document."""
from __future__ import annotations

import json
from typing import IO

from installer.preflight.model import Report
from installer.text import printable

SOURCE_TITLES = {"local": "This machine and the answers", "node": "Nodes (SSH)", "cluster": "Kubernetes cluster",
                 "database": "Database", "domain": "Domain and TLS"}
STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=False) + "\n"


def _verdict(report: Report) -> str:
    summary = report.summary()
    verdict = "FAILED" if not report.ok else "passed"
    return (f"preflight {verdict}: {summary['fail']} failed, {summary['warn']} warnings, {summary['pass']} passed, "
            f"{summary['skip']} not checked ({report.duration_s:.1f}s)")


def terminal_width(stream: IO[str]) -> int:
    """The terminal's width when stream is one, else $COLUMNS or 100 (a log or a pipe)."""
    import os
    import shutil

    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        pass
    return shutil.get_terminal_size((100, 24)).columns


def fit_target(target: str, limit: int) -> str:
    """A target that fits its column on one line: a path keeps its end (the folder that matters, not
    /root/.local/state), shortened at a separator after a leading ellipsis; anything else keeps its start."""
    import os

    home = os.path.expanduser("~")
    if target.startswith(home + "/"):
        target = "~" + target[len(home):]
    if len(target) <= limit:
        return target
    if "/" in target:
        tail = target[-(limit - 1):]
        cut = tail.find("/")
        return "…" + (tail[cut:] if 0 <= cut < len(tail) - 1 else tail)
    return target[: limit - 1] + "…"


def render_table(report: Report, stream: IO[str], color: bool | None = None, width: int | None = None) -> None:
    """What failed and what to do first (each remediation on its own line), then one compact table per
    source sized to the terminal, then the verdict again as the last line."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    width = width or terminal_width(stream)
    console = Console(file=stream, force_terminal=color, no_color=color is False, width=width,
                      highlight=False, soft_wrap=False)
    console.print(Text(_verdict(report), style="bold red" if not report.ok else "bold green"))
    attention = [r for r in report.results if r.status == "fail"] + [r for r in report.results if r.status == "warn"]
    for r in attention:
        mark = "✗ FAIL" if r.status == "fail" else "! WARN"
        console.print()
        console.print(Text(printable(f"{mark} {r.id} ({r.target}): {r.message}"), style=STATUS_STYLE[r.status]))
        if r.remediation:
            console.print(Text(printable(f"what to do: {r.remediation}")), overflow="fold")
    for source, items in report.by_source().items():
        console.print()
        table = Table(title=SOURCE_TITLES[source], title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                      show_edge=False, expand=False)
        table.add_column("status", no_wrap=True)
        table.add_column("check", no_wrap=True)
        target_width = max(12, width // 5)
        table.add_column("target", no_wrap=True, max_width=target_width)
        table.add_column("measured (required)", overflow="fold")
        for r in items:
            note = r.message if r.status == "skip" else r.details.get("note", "")
            measured = f"{r.measured} ({note})" if note and note != r.measured else r.measured
            if r.status in ("fail", "warn") and r.required not in ("", "-"):
                measured = f"{measured}; required {r.required}"
            table.add_row(Text(r.status.upper(), style=STATUS_STYLE[r.status]), r.id,
                          Text(printable(fit_target(r.target, target_width))), Text(printable(measured)))
        console.print(table)
    console.print()
    console.print(Text(_verdict(report), style="bold red" if not report.ok else "bold green"))
