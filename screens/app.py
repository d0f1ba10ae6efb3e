"""The Textual wizard: page order, draft saving, quitting, and the entry point the CLI calls."""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Any
from collections.abc import Callable

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from screens.base import BACK, LOADED, NEXT, RESUMED
from screens.state import PAGES, WizardState, state_from_args
from screens.upgrade import PAGES as UPGRADE_PAGES

FORM_PAGES = tuple(PAGES)
ALL_PAGES = ("welcome", *FORM_PAGES, "review", "preflight", "plan", "progress", *UPGRADE_PAGES)
UPGRADE = "upgrade"  # what the welcome page returns for "Upgrade an existing install"


def _page_class(page: str) -> type:
    from screens import credentials, database, domain, monitoring, preflight, progress, release, review, sizing, target, welcome
    from screens.plan_review import PlanReviewScreen
    from screens.upgrade import page_classes

    return {
        **page_classes(),
        "welcome": welcome.WelcomeScreen,
        "target": target.TargetScreen,
        "sizing": sizing.SizingScreen,
        "domain": domain.DomainScreen,
        "database": database.DatabaseScreen,
        "credentials": credentials.CredentialsScreen,
        "release": release.ReleaseScreen,
        "monitoring": monitoring.MonitoringScreen,
        "review": review.ReviewScreen,
        "preflight": preflight.PreflightScreen,
        "plan": PlanReviewScreen,
        "progress": progress.ProgressScreen,
    }[page]


class QuitScreen(ModalScreen[str]):
    """Quitting asks whether to keep what was typed."""

    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical { width: 60; max-width: 95%; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
    QuitScreen Horizontal { height: auto; margin-top: 1; }
    QuitScreen Button { margin-right: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Save a draft of your answers before quitting?", markup=False)
            yield Static(f"It goes to {self.app.state.answers_path}.", markup=False)  # type: ignore[attr-defined]
            with Horizontal():
                yield Button("Save and quit", id="save-quit", variant="primary")
                yield Button("Quit without saving", id="quit", variant="error")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")

    def action_cancel(self) -> None:
        self.dismiss("cancel")


class WizardApp(App[int]):
    """The full-screen wizard; every page reads and writes one WizardState."""

    CSS_PATH = "app.tcss"
    TITLE = "DIGIT installer"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        # handled by the app as keys arrive, so text typed right after a Tab (a burst over a slow SSH link)
        # lands in the next field rather than the one being left
        Binding("tab", "focus_next", "Next field", priority=True, show=False),
        Binding("shift+tab", "focus_previous", "Previous field", priority=True, show=False),
        Binding("ctrl+s", "save_draft", "Save draft", priority=True),
        Binding("ctrl+q", "request_quit", "Quit", priority=True),
    ]

    def __init__(self, state: WizardState, *, pages: list[str] | None = None, interactive: bool = False,
                 clock: Callable[[], float] = time.monotonic, event_source: Callable | None = None,
                 preflight_source: Callable | None = None, build_steps: Callable | None = None) -> None:
        super().__init__()
        self.state = state
        self.interactive = interactive
        self.flow: list[str] = (list(pages) if pages is not None else ["welcome", *FORM_PAGES]) + ["review"]
        self.install_flow = self.flow
        self.upgrade: Any = None  # the upgrade pages' shared state (screens/upgrade/state.py), made on first use
        self.clock = clock
        self.event_source = event_source
        self.preflight_source = preflight_source
        self.build_steps = build_steps
        self.current = self.flow[0]
        self.came_back = False  # whether the page on screen was reached by going back (pages read it as they appear)
        self.exit_code = 0
        self.saved_path: Path | None = None
        self.saved_draft: dict | None = None
        # printed on the terminal once the wizard has closed, so the outcome outlives the screen
        self.final_report: str | None = None
        self.cancel_run: Callable[[], None] | None = None  # set while an install runs (the progress page says so)
        self.draft_path: Path | None = None
        # the failed checks of the preflight page's last run, told on the terminal if the wizard is closed there
        self.preflight_failures: list[Any] = []
        self.preflight_checked: str | None = None  # the answers' fingerprint those checks ran on

    # -- pages

    def page(self, name: str):
        if not self.is_screen_installed(name):
            self.install_screen(_page_class(name)(), name)
        return self.get_screen(name)

    def reset_pages(self) -> None:
        """After loading another file, rebuild pages so they show its values."""
        for name in ALL_PAGES:
            if name != self.current and self.is_screen_installed(name):
                self.uninstall_screen(name)

    def on_mount(self) -> None:
        self.drive(self.current)

    def show(self, name: str) -> None:
        """Go to a page directly (the flow continues from there)."""
        self.drive(name)

    @work(exclusive=True, group="flow")
    async def drive(self, page: str | None) -> None:
        """The wizard: each page is awaited until it returns where to go (Next, Back, or a page by name)."""
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        previous = None
        while page is not None:
            # an earlier page than the one left (Back, or Preflight's Back to Review): the page lands on the field it
            # was left from, not on its first
            self.came_back = (previous in ALL_PAGES and page in ALL_PAGES
                              and ALL_PAGES.index(page) < ALL_PAGES.index(previous))
            self.current = page
            result = await self.push_screen_wait(self.page(page))
            previous, page = page, self.route(page, result)

    def route(self, page: str, result: str | None) -> str | None:
        """Where a page's result leads. Loading a file rebuilds the pages so they show its values."""
        if result == UPGRADE:
            self.flow = ["welcome", *UPGRADE_PAGES]
            return UPGRADE_PAGES[0]
        if page == "welcome":
            self.flow = self.install_flow
        if result in (LOADED, RESUMED):
            self.reset_pages()
            return "review" if result == RESUMED else self.reopen_at()
        if result == NEXT:
            return self.neighbour(page, +1)
        if result == BACK:
            previous = self.back_of(page)
            if previous is None:
                return page
            if previous not in self.flow:
                self.flow.insert(self.flow.index(page), previous)
            return previous
        return result if result in ALL_PAGES else page

    def reopen_at(self) -> str:
        """Where a loaded file opens. A draft reopens at the page it was saved on, unless a page before it now has a
        problem (a profile gone, a file moved) or that page is no longer in the flow: then at the first page with one.
        The pages before it keep their values and Back reaches them. Any other file opens at the first page."""
        first = self.neighbour("welcome", +1)
        saved = self.state.draft_page
        if saved is None:
            return first
        pages = [p for p in self.flow if p != "welcome"]
        troubled = set(self.state.pages_needing_visit([]))
        if saved not in pages:
            return next((p for p in pages if p in troubled), first)
        return next((p for p in pages[:pages.index(saved)] if p in troubled), saved)

    def neighbour(self, page: str, step: int) -> str:
        if page in self.flow and 0 <= self.flow.index(page) + step < len(self.flow):
            return self.flow[self.flow.index(page) + step]
        return page

    def position(self, page: str) -> str:
        steps = [p for p in self.flow if p != "welcome"]
        if page in steps:
            return f"Step {steps.index(page) + 1} of {len(steps)}  ·  "
        return ""

    def back_of(self, page: str) -> str | None:
        """The page Back leads to. From the first page of `--interactive` (which visits only what is missing or
        invalid, or Review alone) Back still leads to the pages before it in the wizard's order: after a failed
        preflight the answer to change can be on any of them."""
        if page in self.flow and self.flow.index(page) > 0:
            return self.flow[self.flow.index(page) - 1]
        canonical = [*FORM_PAGES, "review"]
        if self.interactive and page in canonical and canonical.index(page) > 0:
            return canonical[canonical.index(page) - 1]
        return None

    def can_go_back(self, page: str) -> bool:
        return self.back_of(page) is not None

    # -- saving and quitting

    def store_current(self) -> None:
        store = getattr(self.screen, "store", None)
        if store is not None:
            store()

    def action_save_draft(self) -> None:
        self.store_current()
        self._save_draft()

    @work(thread=True, exclusive=True, group="save-draft")
    def _save_draft(self, then_exit: bool = False) -> None:
        """A complete, valid draft is saved as the answers file itself; otherwise as a draft."""
        from installer.answers import AnswersError

        try:
            try:
                _answers, path = self.state.save()
                self.saved_draft = copy.deepcopy(self.state.draft)
                self.saved_path, self.draft_path = path, None
            except AnswersError:
                # the page the operator is on, where continuing the draft reopens (a run page: Review)
                page = self.current if self.current in (*FORM_PAGES, "review") else "review"
                path = self.state.save_draft(page)
                self.draft_path = path
        except OSError as exc:
            self.call_from_thread(self.notify, f"could not save the draft: {exc.strerror or exc}", severity="error")
            return
        self.call_from_thread(self.notify, f"draft saved to {path}", title="Saved")
        if then_exit:
            self.call_from_thread(self.exit, 0)

    def action_request_quit(self) -> None:
        if self.cancel_run is not None:
            self.cancel_run()
            self.notify("the install is being cancelled; quit again once it has stopped", severity="warning")
            return
        self.store_current()
        if self.current in UPGRADE_PAGES or (self.saved_draft is not None and self.saved_draft == self.state.draft):
            # an upgrade types no answers: nothing to keep
            self.exit(self.exit_code or 0)
            return

        def chosen(answer: str | None) -> None:
            if answer == "save-quit":
                self.store_current()
                self._save_draft(then_exit=True)
            elif answer == "quit":
                self.exit(self.exit_code or 0)

        self.push_screen(QuitScreen(), chosen)

    def on_progress_screen_running(self, message: Any) -> None:
        self.cancel_run = message.cancel

    async def action_quit(self) -> None:
        self.action_request_quit()


def make_app(state: WizardState | None = None, *, args: argparse.Namespace | None = None, **options: Any) -> WizardApp:
    """The wizard for a state or for command-line arguments (mixed mode with --interactive)."""
    if state is None:
        state = state_from_args(args or argparse.Namespace())
    if args is not None and getattr(args, "interactive", False) and getattr(args, "answers", None):
        named = [s.strip() for s in (getattr(args, "sections", None) or "").split(",") if s.strip()]
        options.setdefault("pages", state.pages_needing_visit(named))
        options.setdefault("interactive", True)
    return WizardApp(state, **options)


def run(args: argparse.Namespace) -> int:
    from installer.answers import AnswersError

    try:
        app = make_app(args=args)
    except AnswersError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    result = app.run()
    lines = closing_lines(app)
    if lines:
        from installer.app.closing import write_closing

        write_closing("\n".join(lines), sys.stdout)
    return int(result if isinstance(result, int) else app.exit_code)


def closing_lines(app: WizardApp) -> list[str]:
    """What stays on the terminal after the wizard closes: the run's outcome and next steps, or where the draft is."""
    from installer import redact
    from installer.invocation import install_sh

    lines = []
    if app.final_report:
        lines.append(redact.mask(app.final_report))
    elif app.draft_path is not None:
        lines.append(f"A draft of the answers is saved in {app.draft_path}")
        lines.append(f"Finish it with: {install_sh()} --answers {app.draft_path} --interactive")
    elif app.saved_path is not None and app.preflight_failures and app.preflight_checked == app.state.fingerprint():
        lines += [redact.mask(line) for line in preflight_lines(app.preflight_failures)]
        lines.append(f"Answers saved in {app.saved_path}")
        lines.append(f"Fix them, then check again with: {install_sh()} preflight --answers {app.saved_path}")
        lines.append(f"and install with: {install_sh()} --answers {app.saved_path}")
    elif app.saved_path is not None:
        lines.append(f"Answers saved in {app.saved_path}")
        lines.append(f"Install with: {install_sh()} --answers {app.saved_path}")
    elif _is_draft_file(app.state.answers_path):
        # quit without saving a draft that was continued: it is still there, without this session's changes
        lines.append(f"Not saved: the draft in {app.state.answers_path} is as it was saved before")
        lines.append(f"Finish it with: {install_sh()} --answers {app.state.answers_path} --interactive")
    return lines


def preflight_lines(failures: list[Any]) -> list[str]:
    """What the preflight page said failed, each with what to do on its own line (nothing was changed)."""
    from installer.text import printable
    from screens.preflight import result_title

    lines = [f"Preflight: {len(failures)} check(s) failed; nothing was changed."]
    for result in failures:
        lines.append(printable(f"✗ {result_title(result)}: {result.message}"))
        if getattr(result, "remediation", ""):
            lines.append(printable(f"  what to do: {result.remediation}"))
    return lines


def _is_draft_file(path: Path) -> bool:
    from installer.answers import is_draft

    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return is_draft(handle.read(512))
    except OSError:
        return False
