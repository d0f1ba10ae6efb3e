"""A nested model in a form: its fields, optionally switched on and off as a whole."""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label

from screens.questions import Question, get_in
from screens.widgets.common import OMIT, ValueChanged, widget_id
from screens.widgets.toggle import Toggle

# builds the widget for a question and its initial value (handed down by the form)
Build = Callable[[Question, Any], Widget]


class GroupBox(Vertical):
    """A nested model: its fields, optionally switched on and off as a whole."""

    DEFAULT_CSS = """
    GroupBox { height: auto; border-left: tall $primary 30%; padding: 0 0 0 1; margin: 0 0 1 0; }
    GroupBox > .group-title { text-style: bold; color: $accent; }
    GroupBox > .group-help { color: $text-muted; }
    GroupBox > .group-body { height: auto; }
    GroupBox.-off > .group-body { display: none; }
    GroupBox > Horizontal.group-switch { height: auto; }
    GroupBox > Horizontal.group-switch Label { padding: 0 1; }
    GroupBox > .group-error { color: $error; }
    """

    def __init__(self, question: Question, initial: Any, build: Build, section: str, show_title: bool = True) -> None:
        super().__init__(id=widget_id((section, *question.loc), "g"), classes="group-box")
        self.question = question
        self.initial = initial
        self.build = build
        self.show_title = show_title
        self.enabled = not question.optional or initial is not None
        self.fields: list[tuple[Question, Any]] = []

    def compose(self) -> ComposeResult:
        q = self.question
        if self.show_title:
            yield Label(q.title, classes="group-title", markup=False)
        if q.optional:
            with Horizontal(classes="group-switch"):
                yield Toggle(value=self.enabled, id="use")
                yield Label(f"Use {q.title.lower()}", markup=False)
        with Vertical(classes="group-body"):
            for child in q.children:
                widget = self.build(child, get_in(self.initial, (child.name,)) if isinstance(self.initial, dict) else None)
                self.fields.append((child, widget))
                yield widget

    def on_mount(self) -> None:
        self.set_class(not self.enabled, "-off")

    @on(Toggle.Changed, "#use")
    def _toggle(self, event: Toggle.Changed) -> None:
        event.stop()
        self.enabled = event.value
        self.set_class(not self.enabled, "-off")
        self.post_message(ValueChanged())

    def value(self) -> Any:
        if not self.enabled:
            return OMIT
        data: dict[str, Any] = {}
        for child, widget in self.fields:
            value = widget.value()
            if value is not OMIT:
                data[child.name] = value
        if not data and not self.question.required and not self.question.optional and self.initial is None:
            return OMIT
        return data
