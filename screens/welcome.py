"""Welcome: what will happen, what to have ready, and how to begin."""
from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, RadioSet, Static

from screens.base import LOADED, NEXT, RESUMED, WizardScreen
from screens.widgets.choice_button import ChoiceButton
from screens.paths import shown_path, unused_path

WHAT_HAPPENS = """\
This wizard writes an answers file for one DIGIT installation, then can start it. \
Nothing on your machines changes before you start it from the Review page.
Have ready: the machines (addresses, an SSH user with sudo and its key) or a kubeconfig; \
the domain name and its TLS certificate if the state provides one; the PostgreSQL server \
(or let the installer run one); the DIGIT-DevOps charts and the MDMS/configs repos with a deploy key.
Tab moves between fields · Ctrl+N next · Ctrl+B back · F1 help · Ctrl+S save a draft · Ctrl+Q quit"""


def _names(path: Path) -> str | None:
    """The installation an answers file is for (its `name`), or None when it cannot be read."""
    from installer.yamlio import load_yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8", errors="replace"))
    except Exception:  # missing or not YAML: not this install's file
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def draft_details(path: Path) -> str:
    """': punjab-uat, saved 14:02' for a draft: which installation it is for and when it was saved, so two drafts
    (or a draft and an install) can be told apart."""
    import datetime

    from installer.yamlio import load_yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8", errors="replace"))
        saved = datetime.datetime.fromtimestamp(path.stat().st_mtime)
    except Exception:  # an unreadable draft is still listed; loading it says what is wrong
        return ""
    name = data.get("name") if isinstance(data, dict) else None
    when = saved.strftime("%H:%M") if saved.date() == datetime.date.today() else saved.strftime("%Y-%m-%d %H:%M")
    return f": {name if isinstance(name, str) and name else 'no name yet'}, saved {when}"


class WelcomeScreen(WizardScreen):
    # the footer names what Ctrl+N does here, as the button does
    BINDINGS = [Binding("ctrl+n", "next", "Begin")]
    CSS_PATH = "welcome.tcss"
    PAGE = "welcome"
    TITLE_TEXT = "Welcome"
    NEXT_LABEL = "Begin"

    def compose_body(self) -> ComposeResult:
        state = self.wizard.state
        self.found_here = state.answers_path  # the answers file the wizard would use here (answers.yaml)
        if state.tree is None and set(state.draft) <= {"version"}:
            # nothing loaded: the answers are new, so they go to a file of their own, not over one found here
            state.answers_path = unused_path(state.answers_path)
        yield Static(WHAT_HAPPENS, id="what-happens", markup=False)
        if state.catalog.problems:
            yield Static("Some profiles could not be read and are not offered:\n" + "\n".join(state.catalog.problems),
                         classes="welcome-error", markup=False)
        yield Label("How do you want to begin?", classes="welcome-question", markup=False)
        found = len(state.drafts) + len(state.previous)
        with RadioSet(id="start-mode"):
            yield ChoiceButton("A fresh install", value=True, id="mode-fresh")
            yield ChoiceButton(f"Continue a draft or a previous install ({found} found)", id="mode-resume", disabled=not found)
            yield ChoiceButton("Load an answers file to review and edit", id="mode-load")
            yield ChoiceButton("Upgrade an existing install", id="mode-upgrade")
        with Vertical(id="resume-box"), RadioSet(id="previous"):
            for index, entry in enumerate(self.entries()):
                yield ChoiceButton(entry[0], value=index == 0, id=f"previous-{index}")
        with Vertical(id="load-box"):
            yield Label("Answers file to load", markup=False)
            yield Input(placeholder="path/to/answers.yaml", id="load-path", compact=True)
        with Vertical(id="save-box"):
            yield Label("Save the answers to", markup=False)
            yield Input(shown_path(state.answers_path), id="save-path", compact=True)
            yield Static("", classes="welcome-error", id="welcome-error", markup=False)

    def entries(self) -> list[tuple[str, Path, bool]]:
        """(label, answers file, resume?) for each draft and each install in the state directory."""
        state = self.wizard.state
        entries = [(f"draft {shown_path(path)}{draft_details(path)}", path, False) for path in state.drafts]
        # the install's name is its state directory's name: the path would only push the state off an 80-column line
        entries += [(f"install {p.name}: {p.outcome}", p.answers, True) for p in state.previous]
        return entries

    def on_mount(self) -> None:
        self._show_boxes()

    def _mode(self) -> str:
        pressed = self.query_one("#start-mode", RadioSet).pressed_button
        return (pressed.id or "mode-fresh").removeprefix("mode-") if pressed else "fresh"

    @on(RadioSet.Changed, "#start-mode")
    def _show_boxes(self) -> None:
        mode = self._mode()
        self.query_one("#resume-box").display = mode == "resume"
        self.query_one("#load-box").display = mode == "load"
        # a loaded file or draft is saved where it was found; a fresh install asks where
        self.query_one("#save-box").display = mode == "fresh"

    def store(self) -> None:
        path = self.query_one("#save-path", Input).value.strip()
        if path:
            self.wizard.state.answers_path = Path(path).expanduser().absolute()

    def action_next(self) -> None:
        mode = self._mode()
        self.query_one("#welcome-error", Static).update("")
        if mode == "fresh":
            path = Path(self.query_one("#save-path", Input).value.strip() or str(self.wizard.state.answers_path)).expanduser()
            if path.exists():
                self.set_status(f"Next is blocked: {shown_path(path)} already exists{self._what(path)}; continue or load "
                                f"it instead, or save the new answers to another file")
                self.query_one("#save-path", Input).focus()
                return
            self.store()
            self.dismiss(NEXT)
        elif mode == "upgrade":
            self.dismiss("upgrade")
        elif mode == "load":
            path = self.query_one("#load-path", Input).value.strip()
            if not path:
                self.set_status("Next is blocked: give the path of the answers file to load")
                return
            self._load(Path(path).expanduser(), resume=False)
        else:
            pressed = self.query_one("#previous", RadioSet).pressed_index
            _label, path, resume = self.entries()[max(pressed, 0)]
            self._load(path, resume=resume)

    @staticmethod
    def _what(path: Path) -> str:
        from installer.answers import is_draft

        try:
            with path.open("r", encoding="utf-8", errors="replace") as handle:
                return " (a draft)" if is_draft(handle.read(512)) else ""
        except OSError:
            return ""

    @work(thread=True, exclusive=True, group="load")
    def _load(self, path: Path, resume: bool) -> None:
        from installer.answers import AnswersError

        state = self.wizard.state
        save_to = state.answers_path
        try:
            state.load(path)
        except AnswersError as exc:
            text = "\n".join(str(p) for p in exc.problems[:3])
            self.app.call_from_thread(self.set_status, f"Next is blocked: {text}")
            return
        if resume:
            # a resumed install's copy lives in its state directory, which the engine owns: save beside the operator,
            # into the file found here when it is this install's (not beside it as answers-2.yaml)
            state.answers_path = self.found_here if _names(self.found_here) == state.draft.get("name") else save_to
        state.resume = resume
        self.app.call_from_thread(self._loaded, resume)

    def _loaded(self, resume: bool) -> None:
        self.set_status("")
        self.dismiss(RESUMED if resume else LOADED)
