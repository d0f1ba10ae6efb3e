"""Which install to upgrade: the answers file it was installed from, with its state as `status` says it."""
from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, RadioSet, Static

from screens.base import NEXT, WizardScreen
from screens.paths import shown_path
from screens.upgrade.installs import InstallRefused, find_installs, open_install
from screens.upgrade.state import upgrade_state
from screens.widgets.choice_button import ChoiceButton


class UpgradeInstallScreen(WizardScreen):
    PAGE = "upgrade-install"
    TITLE_TEXT = "Install to upgrade"
    INTRO = ("The answers file the install was made from: its name finds the install's state directory, its "
             "release.version the profile it runs. Nothing changes until the Backup page.")
    DEFAULT_CSS = """
    UpgradeInstallScreen RadioSet { width: 100%; border: none; padding: 0; margin: 0 0 1 0; }
    UpgradeInstallScreen RadioSet:focus-within { background: $boost; }
    UpgradeInstallScreen #other-box { height: auto; }
    UpgradeInstallScreen #install-found { color: $text-muted; }
    UpgradeInstallScreen #install-not-offered { color: $text-muted; margin: 1 0 0 0; }
    """

    def candidates(self) -> list[tuple[str, Path | None]]:
        """(label, answers file) for each install found; None: type a path.

        Answers files beside the wizard (the current directory, the file it was started with) whose install
        has a journal come first; then the copies installs keep in their state directories (with --state-dir,
        only that directory's)."""
        if getattr(self, "_candidates", None) is None:
            self._candidates = self._find()
        return self._candidates

    def _find(self) -> list[tuple[str, Path | None]]:
        installs = find_installs(self.wizard.state)
        self.not_offered: list[str] = installs.not_offered
        found: list[tuple[str, Path | None]] = [*installs.found]
        found.append(("another answers file", None))
        return found

    def compose_body(self) -> ComposeResult:
        yield Label("Which install?", markup=False)
        with RadioSet(id="installs"):
            for index, (label, _path) in enumerate(self.candidates()):
                yield ChoiceButton(label, value=index == 0, id=f"install-{index}")
        with Vertical(id="other-box"):
            yield Label("Answers file", markup=False)
            yield Input(placeholder="path/to/answers.yaml", id="other-path", compact=True)
        yield Static("", id="install-found", markup=False)
        if self.not_offered:
            yield Static("Not offered:\n" + "\n".join(f"  {line}" for line in self.not_offered),
                         id="install-not-offered", markup=False)

    def on_mount(self) -> None:
        self._show_other()

    def _chosen(self) -> Path | None:
        index = max(self.query_one("#installs", RadioSet).pressed_index, 0)
        return self.candidates()[index][1]

    @on(RadioSet.Changed, "#installs")
    def _show_other(self) -> None:
        self.query_one("#other-box").display = self._chosen() is None

    def action_next(self) -> None:
        path = self._chosen()
        if path is None:
            typed = self.query_one("#other-path", Input).value.strip()
            if not typed:
                self.set_status("Next is blocked: give the path of the install's answers file")
                return
            path = Path(typed).expanduser().absolute()
        self.set_status(f"reading {shown_path(path)}…")
        self._open(path)

    @work(thread=True, exclusive=True, group="upgrade-install")
    def _open(self, path: Path) -> None:
        try:
            opened = open_install(path, self.wizard.state.state_dir)
        except InstallRefused as refused:
            self.app.call_from_thread(self.set_status, f"Next is blocked: {refused}")
            return
        self.app.call_from_thread(self._opened, opened.answers, path, opened.state_dir, opened.outcome)

    def _opened(self, answers, path: Path, state_dir: Path, outcome: str) -> None:
        upgrade = upgrade_state(self.app)
        if upgrade.answers_path != path or upgrade.state_dir != state_dir:
            upgrade.forget_results()
            upgrade.subject = None
            from screens.upgrade import PAGES

            for later in PAGES[1:]:  # pages made for another install show it: make them afresh
                if self.app.is_screen_installed(later):
                    self.app.uninstall_screen(later)
        upgrade.answers, upgrade.answers_path, upgrade.state_dir = answers, path, state_dir
        self.query_one("#install-found", Static).update(
            f"install {answers.name!r} ({outcome}), profile {answers.release.version}, state {shown_path(state_dir)}")
        self.set_status("")
        self.dismiss(NEXT)
