"""The generated form for one section of the answers file.

A form collects plain data (what the YAML would hold) and shows the errors the
section's pydantic model reports, next to the field that caused them. Errors
for fields not yet visited stay hidden until Next asks for the whole section.
The form builds its widgets and hands each container the same builder
(attributes down); widgets tell the form of changes with messages (up).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any
from collections.abc import Callable

from textual.containers import Vertical
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Select, Static, Switch

from screens.questions import FieldError, Loc, Question, errors_for, get_in, section_errors
from screens.secrets import SecretHolder
from screens.widgets.common import OMIT, ValueChanged
from screens.widgets.field_row import FieldRow
from screens.widgets.group_box import GroupBox
from screens.widgets.items_editor import ItemsEditor
from screens.widgets.secret_paste import SecretPaste
from screens.widgets.union_box import UnionBox


def _item_label(editor: ItemsEditor, error: FieldError) -> str:
    """'node 2 host: ' for an error inside one item of a list."""
    size = len(editor.question.loc)
    if len(error.loc) > size and isinstance(error.loc[size], int):
        rest = ".".join(str(p) for p in error.loc[size + 1:])
        return f"node {error.loc[size] + 1}{' ' + rest if rest else ''}: "
    return ""


class SectionForm(Vertical):
    """The generated form for one section of the answers file."""

    DEFAULT_CSS = """
    SectionForm { height: auto; }
    SectionForm > .form-error { color: $error; }
    """

    class Changed(Message):
        def __init__(self, form: SectionForm) -> None:
            super().__init__()
            self.form = form

    def __init__(self, section: str, question: Question, initial: Any, base_dir: Callable[[], Path],
                 secrets: SecretHolder | None = None, answers_path: Callable[[], Path] | None = None,
                 choices: dict[Loc, list[str]] | None = None, hidden: set[Loc] | None = None,
                 validator: Callable[[Any], list[FieldError]] | None = None, id: str | None = None,
                 extra_values: Callable[[], dict] | None = None) -> None:
        super().__init__(id=id or f"form-{section}", classes="section-form")
        self.section = section
        self.question = question
        self.initial = initial
        self.base_dir = base_dir
        self.secrets = secrets
        self.answers_path = answers_path
        self.choices = choices or {}
        self.hidden = hidden or set()
        self.validator = validator
        self.extra_values = extra_values  # values a page adds to the section (e.g. the release's module list)
        self.extra_errors: list[FieldError] = []
        self.show_all = False
        self.errors: list[FieldError] = []
        self._roots: list[tuple[Question, Widget]] = []

    # -- building

    def build(self, original: Question, initial: Any) -> Widget:
        question = original
        if question.loc in self.choices:
            question = Question(**{**question.__dict__, "kind": "choice", "choices": tuple(self.choices[question.loc])})
        if question.kind == "union":
            widget: Widget = UnionBox(question, initial, self.build, self.section)
        elif question.kind == "group":
            widget = GroupBox(question, initial, self.build, self.section)
        elif question.kind == "items":
            widget = ItemsEditor(question, initial, self.section)
        else:
            widget = FieldRow(question, initial, self.secrets, self.section)
            widget.answers_path = self.answers_path
        if question.loc in self.hidden:
            widget.display = False
        return widget

    def compose(self) -> ComposeResult:
        if self.question.kind == "group" and not self.question.optional:
            for child in self.question.children:
                widget = self.build(child, get_in(self.initial, (child.name,)))
                self._roots.append((child, widget))
                yield widget
        else:
            widget = self.build(self.question, self.initial)
            self._roots.append((self.question, widget))
            yield widget
        yield Static("", classes="form-error", markup=False).set_styles("display: none;")

    # -- values and validation

    def data(self) -> Any:
        extra = self.extra_values() if self.extra_values else {}
        if self.question.kind == "group" and not self.question.optional:
            data = {}
            for child, widget in self._roots:
                value = widget.value()
                if value is not OMIT:
                    data[child.name] = value
            data.update(extra)
            return data
        value = self._roots[0][1].value()
        if isinstance(value, dict) and extra:
            value = {**value, **extra}
        return None if value is OMIT else value

    def rows(self) -> list[FieldRow]:
        return list(self.query(FieldRow))

    def validate(self) -> list[FieldError]:
        data = self.data()
        errors = self.validator(data) if self.validator else section_errors(self.section, data, self.base_dir())
        self.errors = errors + self.key_errors(errors) + self.extra_errors
        self._show()
        self._show_warnings()
        return self.errors

    def warnings(self) -> list[FieldError]:
        """What `validate` warns about on the spot, for this form's fields: a variable named that is not set
        (it may be exported only for the install, so Next goes on)."""
        from installer.answers.spot import env_problem

        found = []
        for row in self.rows():
            name = row.env_name() if row.question.kind == "secret" and self._visible(row) else None
            problem = env_problem(name) if name else None
            if problem:
                found.append(FieldError(row.question.loc, row.full_key, problem))
        return found

    def _show_warnings(self) -> None:
        """A warning shows once the field was left (or the whole page asked for), as errors do; a value that
        came with the file shows its warning at once."""
        by_row = {e.loc: e.message for e in self.warnings()}
        for row in self.rows():
            message = by_row.get(row.question.loc) if self._visible(row) else None
            prefilled = isinstance(row.initial, dict) and row.initial.get("env") == row.env_name()
            row.show_warning([message] if message and (self.show_all or row.touched or prefilled) else [])

    def key_errors(self, errors: list[FieldError]) -> list[FieldError]:
        """Private keys must parse as keys, typed or in a file (the models check only the reference)."""
        from installer.keys import private_key_file_problem, private_key_problem

        found = []
        for row in self.rows():
            if not row.is_key or not self._visible(row) or errors_for(errors, row.question.loc):
                continue
            typed = row.typed_secret()
            problem = None
            if typed:
                problem = private_key_problem(typed)
                problem = f"the key typed here: {problem}" if problem else None
            elif typed is None:
                reference = row.value()
                if isinstance(reference, dict) and str(reference.get("file") or "").strip():
                    path = Path(str(reference["file"]).strip()).expanduser()
                    problem = private_key_file_problem(path if path.is_absolute() else self.base_dir() / path)
            if problem:
                found.append(FieldError(row.question.loc, row.full_key, problem))
        return found

    def _visible(self, widget: Widget) -> bool:
        node: Any = widget
        while node is not None and node is not self:
            if isinstance(node, GroupBox) and (node.has_class("-off") or (isinstance(node.parent, UnionBox)
                                                                          and not node.has_class("-chosen"))):
                return False
            node = node.parent
        return True

    def _show(self) -> None:
        placed: set[int] = set()
        touched_items: set[int] = set()
        for row in self.rows():
            if not self._visible(row):
                row.show_error([])
                continue
            found = errors_for(self.errors, row.question.loc)
            shown = [e.message for e in found if self.show_all or row.touched]
            if not row.compact:
                placed.update(id(e) for e in found)
            elif shown:
                touched_items.update(id(e) for e in found)
            row.show_error(shown)
        leftovers = [e for e in self.errors if id(e) not in placed]
        for editor in self.query(ItemsEditor):
            mine = [e for e in leftovers if e.loc[: len(editor.question.loc)] == editor.question.loc]
            visible = [e for e in mine if self.show_all or id(e) in touched_items
                       or (len(e.loc) == len(editor.question.loc) and not e.missing)]
            text = "\n".join(f"✗ {_item_label(editor, e)}{e.message}" for e in visible)
            box = editor.query_one(".items-error", Static)
            if getattr(box, "_text", "") != text:
                box._text = text  # type: ignore[attr-defined]
                box.update(text)
                box.display = bool(text)
            placed.update(id(e) for e in mine)
        leftovers = [e for e in self.errors if id(e) not in placed]
        text = "\n".join(f"✗ {e.key}: {e.message}" for e in leftovers) if self.show_all else ""
        box = self.query_one(".form-error", Static)
        if getattr(box, "_text", "") != text:
            box._text = text  # type: ignore[attr-defined]
            box.update(text)
            box.display = bool(text)

    def changed(self) -> None:
        self.validate()
        self.post_message(self.Changed(self))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.changed()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self.changed()

    def on_value_changed(self, event: ValueChanged) -> None:
        event.stop()
        self.changed()

    def on_secret_paste_changed(self, event: SecretPaste.Changed) -> None:
        self.changed()

    def on_descendant_blur(self, event: Any) -> None:
        self.call_after_refresh(self.validate)

    def first_invalid(self) -> Widget | None:
        for row in self.rows():
            if row.has_class("-invalid"):
                return row
        return None

    def field_row(self, loc: Loc) -> FieldRow | None:
        for row in self.rows():
            if row.question.loc == loc and self._visible(row):
                return row
        return None
