"""A discriminated union in a form: a choice of kind, then only the fields that kind needs."""
from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Select, Static

from screens.questions import Question
from screens.widgets.choice_select import ChoiceSelect
from screens.widgets.common import ValueChanged, widget_id
from screens.widgets.group_box import Build, GroupBox


class UnionBox(Vertical):
    """A discriminated union: a choice of kind, then only the fields that kind needs."""

    DEFAULT_CSS = """
    UnionBox { height: auto; }
    UnionBox > .union-title { text-style: bold; }
    UnionBox > .union-help { color: $text-muted; }
    UnionBox > GroupBox { display: none; border-left: none; padding: 0; }
    UnionBox > GroupBox.-chosen { display: block; }
    """

    def __init__(self, question: Question, initial: Any, build: Build, section: str) -> None:
        super().__init__(id=widget_id((section, *question.loc), "u"), classes="union-box")
        self.question = question
        self.initial = initial if isinstance(initial, dict) else {}
        self.build = build
        self.section = section
        tag = self.initial.get(question.discriminator)
        self.chosen = tag if tag in question.variants else question.default
        self.boxes: dict[str, GroupBox] = {}

    def compose(self) -> ComposeResult:
        q = self.question
        yield Label(q.title, classes="union-title", markup=False)
        if q.help:
            yield Static(q.help, classes="union-help", markup=False)
        options = [(Text(self._label(tag, variant)), tag) for tag, variant in q.variants.items()]
        yield ChoiceSelect(options, value=self.chosen, allow_blank=False, id=widget_id((self.section, *q.loc), "kind"), compact=True)
        yield self._variant_box(self.chosen)

    def _variant_box(self, tag: str, chosen: bool = True) -> GroupBox:
        """Every variant gets its box (hidden unless chosen); once built it stays, so its values survive."""
        variant = self.question.variants[tag]
        initial = self.initial if tag == self.initial.get(self.question.discriminator, self.question.default) else {}
        box = GroupBox(variant, initial, self.build, self.section, show_title=False)
        box.set_class(chosen, "-chosen")
        self.boxes[tag] = box
        return box

    def on_mount(self) -> None:
        self.call_after_refresh(self._build_the_others)

    async def _build_the_others(self) -> None:
        """The other kinds are built while the operator reads the page, so choosing one switches at once: keys
        typed right after the choice (a Tab, the first letters) then land in the chosen kind's fields."""
        for tag in self.question.variants:
            if tag not in self.boxes:
                await self.mount(self._variant_box(tag, chosen=tag == self.chosen))

    @staticmethod
    def _label(tag: str, variant: Question) -> str:
        doc = variant.help.split(";")[0].rstrip(".")
        label = f"{tag}: {doc}" if doc else tag
        return f"{label} ({variant.note})" if variant.note else label

    async def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != widget_id((self.section, *self.question.loc), "kind") or event.value is Select.NULL:
            return
        if str(event.value) == self.chosen:
            return
        self.chosen = str(event.value)
        if self.chosen not in self.boxes:
            await self.mount(self._variant_box(self.chosen))  # still being built: build it now
        focused = self.screen.focused
        for tag, box in self.boxes.items():
            box.set_class(tag == self.chosen, "-chosen")
        # a Tab typed right after choosing may have gone into the kind being hidden: continue in the chosen one
        chosen = self.boxes[self.chosen]
        if focused is None or (focused is not event.select and self in focused.ancestors and chosen not in focused.ancestors):
            first = next((w for w in chosen.query("Input, Select, Switch, SecretPaste, Button") if w.focusable), None)
            if first is not None:
                first.focus()
        self.post_message(ValueChanged())

    def value(self) -> Any:
        box = self.boxes.get(self.chosen)
        data = box.value() if box is not None else {}
        return {self.question.discriminator: self.chosen, **(data if isinstance(data, dict) else {})}
