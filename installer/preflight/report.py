"""The preflight report as a table grouped by source, or as one JSON document."""
from __future__ import annotations

import json
from typing import IO

from installer.preflight.model import Report
from installer.text import printable

SOURCE_TITLES = {"local": "This machine and the answers", "node": "Nodes (SSH)", "cluster": "Kubernetes cluster", "database": "Database", "domain": "Domain and TLS"}
STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=False) + "\n"


def render_table(report: Report, stream: IO[str], color: bool | None = None, width: int | None = None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=stream, force_terminal=color, no_color=color is False, width=width or 160,
                      highlight=False, soft_wrap=False)
    for source, items in report.by_source().items():
        table = Table(title=SOURCE_TITLES[source], title_justify="left", show_lines=False, expand=False)
        table.add_column("status", no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("target", no_wrap=True)
        table.add_column("measured", overflow="fold")
        table.add_column("required", overflow="fold")
        table.add_column("remediation", overflow="fold", ratio=2)
        for r in items:
            note = r.message if r.status == "skip" else r.details.get("note", "")
            measured = f"{r.measured} ({note})" if note and note != r.measured else r.measured
            table.add_row(Text(r.status.upper(), style=STATUS_STYLE[r.status]), r.id, *(
                Text(printable(cell)) for cell in (r.target, measured, r.required, r.remediation)))
        console.print(table)
    summary = report.summary()
    verdict = "FAILED" if not report.ok else "passed"
    console.print(
        f"preflight {verdict}: {summary['pass']} passed, {summary['warn']} warnings, {summary['fail']} failed, "
        f"{summary['skip']} not checked ({report.duration_s:.1f}s)"
    )
