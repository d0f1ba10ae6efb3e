"""Review: the whole answers file as it will be saved, where it goes, and the steps that will run."""
from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Input, Label, Static

from installer.answers import AnswersError
from installer.invocation import install_sh
from screens.base import WizardScreen
from screens.paths import shown_path


class ReviewScreen(WizardScreen):
    # the footer names what Ctrl+N does here, as the button does
    BINDINGS = [Binding("ctrl+n", "next", "Save")]
    CSS_PATH = "review.tcss"
    PAGE = "review"
    TITLE_TEXT = "Review"
    INTRO = "Check the answers file below. Secrets appear only as references. Save it, then start the install or replay it later."

    def compose_body(self) -> ComposeResult:
        yield Label("Save to", classes="review-label", markup=False)
        yield Input(shown_path(self.wizard.state.answers_path), id="answers-path", compact=True)
        yield Static("", id="problems", markup=False)
        yield Label("Steps that will run", classes="review-label", markup=False)
        yield Static("", id="steps", markup=False)
        yield Label("Answers file", classes="review-label", markup=False)
        yield Static("", id="yaml", markup=False)

    def compose_buttons(self) -> ComposeResult:
        yield Button("Back", id="back", disabled=not self.wizard.can_go_back(self.PAGE), compact=True)
        yield Button("Save", id="save", variant="primary", compact=True)
        yield Button("Save and start", id="save-start", variant="success", compact=True)

    def on_mount(self) -> None:
        self.refresh_review()

    def on_screen_resume(self) -> None:
        self.query_one("#answers-path", Input).value = shown_path(self.wizard.state.answers_path)
        saved = self.wizard.state.saved
        if saved is None or saved[1] != self.wizard.state.fingerprint():
            self.set_status("")  # "Saved …" spoke of other answers: these are not saved yet
        self.refresh_review()

    def refresh_review(self) -> None:
        state = self.wizard.state
        try:
            answers = state.validate()
        except AnswersError as exc:
            self.query_one("#problems", Static).remove_class("-warnings")
            self.query_one("#problems", Static).update(
                "These must be fixed before saving (Back to the page named):\n"
                + "\n".join(f"✗ {p.key_path}: {p.message}" for p in exc.problems))
            self.query_one("#steps", Static).update("")
            self.query_one("#yaml", Static).update("")
            self.query_one("#save", Button).disabled = True
            self.query_one("#save-start", Button).disabled = True
            return
        from installer.answers import dump_yaml
        from installer.answers.spot import env_problems
        from installer.app.pipeline import build_steps

        unset = env_problems(answers)
        problems = self.query_one("#problems", Static)
        problems.set_class(bool(unset), "-warnings")
        problems.update(
            "Warnings (saving works; the install needs these):\n" + "\n".join(f"! {key}: {message}" for key, message in unset)
            if unset else "")
        steps = (self.wizard.build_steps or build_steps)(answers)
        self.query_one("#steps", Static).update("\n".join(f"{i}. {s.title}" for i, s in enumerate(steps, 1)))
        text = dump_yaml(answers, state.answers_path)
        self.yaml_text = text
        self.query_one("#yaml", Static).update(Syntax(text, "yaml", theme="ansi_dark", word_wrap=True))
        self.query_one("#save", Button).disabled = False
        self.query_one("#save-start", Button).disabled = False

    def store(self) -> None:
        path = self.query_one("#answers-path", Input).value.strip()
        if path:
            self.wizard.state.answers_path = Path(path).expanduser().absolute()

    @on(Input.Submitted, "#answers-path")
    def _path_changed(self) -> None:
        self.store()
        self.refresh_review()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.store()
        self._save(start=False)

    @on(Button.Pressed, "#save-start")
    def _save_start_pressed(self) -> None:
        self.store()
        self._save(start=True)

    def action_next(self) -> None:
        self.store()
        self._save(start=False)

    @work(thread=True, exclusive=True, group="save")
    def _save(self, start: bool) -> None:
        try:
            _answers, path = self.wizard.state.save()
        except AnswersError as exc:
            self.app.call_from_thread(self.set_status, "not saved: " + "; ".join(f"{p.key_path}: {p.message}" for p in exc.problems[:3]))
            return
        except OSError as exc:
            self.app.call_from_thread(self.set_status, f"not saved: {exc.strerror or exc}")
            return
        self.app.call_from_thread(self._saved, path, start)

    def _saved(self, path: Path, start: bool) -> None:
        import copy

        self.wizard.saved_path = path
        self.wizard.saved_draft = copy.deepcopy(self.wizard.state.draft)
        written = len(self.wizard.state.secrets.values)
        extra = f"; {written} typed secret(s) in {path.stem}.secrets/ (mode 0600)" if written else ""
        self.set_status(f"Saved {path}{extra}. Replay it with: {install_sh()} --answers {path}")
        self.app.notify(f"saved {path}", title="Saved")
        if start:
            self.dismiss("preflight")
