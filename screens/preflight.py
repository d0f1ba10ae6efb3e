"""Preflight: every check against the target before anything changes; failures with what to do about them.

The checks come from installer.preflight and run in a worker thread. A check
source is any callable(answers, check_ids or None) -> list of results with id,
target, status ('pass' | 'warn' | 'fail' | 'skip'), message and remediation.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, DataTable, Static

from installer.text import printable
from screens.base import WizardScreen

TABLE_MAX_ROWS = 13  # at most, on a tall screen; fewer when the remediation needs the room
STATUS_TEXT = {"pass": "✓ pass", "warn": "! warn", "fail": "✗ FAIL", "error": "✗ error", "skip": "· skip"}


def engine_preflight_source() -> Callable | None:
    """The preflight engine, when this build has one. Unknown host keys are refused: pin them on the Target page."""
    try:
        from installer.preflight import run_preflight
    except ImportError:
        return None

    def run(answers: Any, only: list[str] | None) -> list[Any]:
        return list(run_preflight(answers, only=only, confirm_host_key=lambda host, port, fingerprint: False).results)

    return run


def result_key(result: Any) -> str:
    return f"{result.id}@{result.target}" if getattr(result, "target", "") else result.id


def result_title(result: Any) -> str:
    title = getattr(result, "title", "") or result.id
    return f"{title} ({result.target})" if getattr(result, "target", "") else title


class PreflightScreen(WizardScreen):
    # the footer names what Ctrl+N does here, as the button does
    BINDINGS = [Binding("ctrl+n", "next", "Start install")]
    CSS_PATH = "preflight.tcss"
    PAGE = "preflight"
    TITLE_TEXT = "Preflight checks"
    INTRO = "Checks of the machines, cluster, database and domain. Nothing has been changed yet."
    NEXT_LABEL = "Start install"

    def __init__(self) -> None:
        super().__init__()
        self.results: dict[str, Any] = {}
        self.checked_inputs: str | None = None
        self.source: Callable | None = None

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="checks", cursor_type="row", zebra_stripes=True)
        yield Static("", id="remediation", markup=False)

    def compose_buttons(self) -> ComposeResult:
        yield Button("Back", id="back", compact=True)
        yield Button("Re-run selected", id="rerun", disabled=True, compact=True)
        yield Button("Re-run all", id="rerun-all", disabled=True, compact=True)
        yield Button(self.NEXT_LABEL, id="next", variant="primary", disabled=True, compact=True)

    def on_mount(self) -> None:
        # the state first: a check's title can be longer than the screen is wide, and the state must stay in view
        self.query_one("#checks", DataTable).add_columns("result", "check", "detail")
        self.source = self.wizard.preflight_source or engine_preflight_source()
        if self.source is None:
            self.set_status("")
            self.query_one("#remediation", Static).update(
                "This build has no preflight engine to run from the wizard; the install's own preflight step "
                "runs the same checks first and stops before changing anything if one fails.")
            self.query_one("#next", Button).disabled = False

    def on_screen_resume(self) -> None:
        """Every visit after the answers changed starts from a clean table: old results describe other answers."""
        if self.source is not None and self.checked_inputs != self.wizard.state.fingerprint():
            self.rerun_all()

    def rerun_all(self) -> None:
        self.results.clear()
        self.query_one("#checks", DataTable).clear()
        self.query_one("#remediation", Static).update("")
        self.run_checks(None)

    @work(thread=True, exclusive=True, group="preflight")
    def run_checks(self, names: list[str] | None) -> None:
        self.app.call_from_thread(self._show_running, names)
        fingerprint = self.wizard.state.fingerprint()
        try:
            answers = self.wizard.state.validate()
            results = list(self.source(answers, names))
        except Exception as exc:  # a broken check must be reported, not crash the wizard
            from installer import redact

            self.app.call_from_thread(self.set_status, redact.mask(f"preflight could not run: {type(exc).__name__}: {exc}"))
            self.app.call_from_thread(self._enable, False)
            return
        self.checked_inputs = fingerprint
        self.app.call_from_thread(self._show, results, names)

    def _show_running(self, names: list[str] | None) -> None:
        self.set_status("running the checks…" if not names else f"re-running {', '.join(names)}…")
        for button in ("#next", "#rerun", "#rerun-all"):
            self.query_one(button, Button).disabled = True

    def _enable(self, allow_next: bool) -> None:
        self.query_one("#next", Button).disabled = not allow_next
        self.query_one("#rerun", Button).disabled = not self.results
        self.query_one("#rerun-all", Button).disabled = False

    def _show(self, results: list[Any], rerun: list[str] | None = None) -> None:
        if rerun:
            # a re-run's results replace every earlier row of the same checks, whatever target they named
            self.results = {key: r for key, r in self.results.items() if r.id not in rerun}
        for result in results:
            self.results[result_key(result)] = result
        table = self.query_one("#checks", DataTable)
        table.clear()
        ordered = sorted(self.results.values(), key=lambda r: ({"fail": 0, "error": 0, "warn": 1}.get(r.status, 2), result_key(r)))
        for result in ordered:
            status = STATUS_TEXT.get(result.status, result.status)
            style = "bold red" if result.status in ("fail", "error") else "yellow" if result.status == "warn" else ""
            table.add_row(Text(status, style=style), Text(printable(result_title(result))), Text(printable(result.message)),
                          key=result_key(result))
        failed = [r for r in self.results.values() if r.status in ("fail", "error")]
        self.wizard.preflight_failures = sorted(failed, key=result_key)
        self.wizard.preflight_checked = self.checked_inputs
        self.set_status(f"{len(failed)} check(s) failed: fix them and re-run, or go back to change the answers" if failed
                        else f"all {len(self.results)} checks passed" if self.results else "")
        self._enable(not failed)
        if failed:
            self._describe(result_key(failed[0]))

    def _describe(self, name: str) -> None:
        result = self.results.get(name)
        if result is None:
            return
        text = f"{result_title(result)}: {result.message}"
        if getattr(result, "remediation", ""):
            text += f"\nwhat to do: {result.remediation}"
        # node facts reach this page unfiltered: an escape sequence must show as text, not drive the terminal
        self._remediation = Text(printable(text))
        self.query_one("#remediation", Static).update(self._remediation)
        self.call_after_refresh(self._fit)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """The table gives up rows (it scrolls) so the highlighted check's message and what to do stay whole on
        the page below it."""
        body = self.query_one("#body")
        remediation = self.query_one("#remediation", Static)
        # measured from the text at the width it wraps to: the laid-out height can still be the last check's
        text = getattr(self, "_remediation", None)
        width = remediation.size.width or max(20, body.size.width - 2)
        lines = len(text.wrap(self.app.console, width)) if text is not None and text.plain else 0
        room = body.size.height - (lines + remediation.styles.margin.height if lines else 0)
        fitted = max(4, min(TABLE_MAX_ROWS + 1, room))
        table = self.query_one("#checks", DataTable)
        if table.styles.max_height is None or table.styles.max_height.value != fitted:
            table.styles.max_height = fitted

    @on(DataTable.RowHighlighted, "#checks")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value:
            self._describe(event.row_key.value)

    @on(Button.Pressed, "#rerun")
    def _rerun(self) -> None:
        """The selected check, and every check that was skipped (they wait on the one that failed, e.g. SSH)."""
        table = self.query_one("#checks", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            chosen = self.results[key].id
            skipped = sorted({r.id for r in self.results.values() if r.status == "skip" and r.id != chosen})
            self.run_checks([chosen, *skipped])

    @on(Button.Pressed, "#rerun-all")
    def _rerun_all_pressed(self) -> None:
        self.rerun_all()

    def action_next(self) -> None:
        if not self.query_one("#next", Button).disabled:
            self.dismiss(after_preflight(self.wizard.state.draft))

    def back_possible(self) -> bool:
        return True  # to Review, whatever the flow before it (the answers to change are there)

    def action_back(self) -> None:
        self.dismiss("review")


def after_preflight(draft: dict) -> str:
    """A cloud target shows Terraform's plan for confirmation before anything is created; others start at once."""
    from installer.app.pipeline import CLOUD_KINDS

    return "plan" if (draft.get("target") or {}).get("kind") in CLOUD_KINDS else "progress"
