"""Which install to upgrade: the answers file it was installed from, with its state as `status` says it."""
from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, RadioSet, Static

from screens.base import NEXT, WizardScreen
from screens.paths import shown_path
from screens.upgrade.state import upgrade_state
from screens.widgets.choice_button import ChoiceButton


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


UNINSTALLED = "uninstalled"  # describe_install's word for an install whose last run was a finished uninstall
GONE = "uninstalled (its releases were removed): nothing to upgrade; install it again first"


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
        from installer.state import state_dir_for
        from screens.state import describe_install

        state = self.wizard.state
        found: list[tuple[str, Path | None]] = []
        names: set[str] = set()
        self.not_offered: list[str] = []
        for path in answers_files(Path.cwd(), state.answers_path.parent, extra=state.answers_path):
            name = install_name(path)
            if name is None:
                continue
            state_dir = state_dir_for(name, state.state_dir)
            if (state_dir / "journal.json").is_file():
                names.add(name)
                outcome = describe_install(state_dir)
                if outcome == UNINSTALLED:
                    self.not_offered.append(f"install {name} ({shown_path(path)}): {GONE}")
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
                    self.not_offered.append(f"install {name}: {GONE}")
                    continue
                found.append((f"install {name}: {outcome}  (the copy in its state directory)",
                              state_dir / "answers.yaml"))
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
        from installer.answers import AnswersError, load_answers
        from installer.state import state_dir_for
        from screens.state import describe_install

        try:
            answers = load_answers(path)
        except AnswersError as exc:
            text = "\n".join(str(p) for p in exc.problems[:3])
            self.app.call_from_thread(self.set_status, f"Next is blocked: {text}")
            return
        except OSError as exc:
            self.app.call_from_thread(self.set_status, f"Next is blocked: {path}: {exc.strerror or exc}")
            return
        state_dir = state_dir_for(answers.name, self.wizard.state.state_dir)
        if not (state_dir / "journal.json").is_file():
            self.app.call_from_thread(self.set_status, f"Next is blocked: no install {answers.name!r} in "
                                      f"{shown_path(state_dir)} (nothing was installed from this file there)")
            return
        outcome = describe_install(state_dir)
        if outcome == UNINSTALLED:
            self.app.call_from_thread(self.set_status, f"Next is blocked: install {answers.name!r} was {GONE} "
                                      f"(./install.sh --answers {shown_path(path)})")
            return
        if outcome == "running now":
            self.app.call_from_thread(self.set_status, f"Next is blocked: a run of {answers.name!r} is going on now; "
                                      "wait for it to finish")
            return
        self.app.call_from_thread(self._opened, answers, path, state_dir, outcome)

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
