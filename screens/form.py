"""Widgets generated from the question tree: one row per field, boxes for groups and variants.

A form collects plain data (what the YAML would hold) and shows the errors the
section's pydantic model reports, next to the field that caused them. Errors
for fields not yet visited stay hidden until Next asks for the whole section.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, Switch

from screens.questions import FieldError, Loc, Question, errors_for, get_in, key_path, section_errors

OMIT = object()

SECRET_MODES = {
    "env": "environment variable",
    "file": "file",
    "generate": "generate (installer creates and keeps it)",
    "type": "type it now (kept in a separate 0600 file)",
}


def _text(value: Any) -> str:
    if value is None or value is OMIT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict) and set(value) == {"file"}:
        return str(value["file"])
    return str(value)


def _dom_id(loc: Loc, prefix: str = "f") -> str:
    parts = [str(p).replace("-", "_") for p in loc]
    return prefix + "-" + "-".join(parts) if parts else prefix


class SecretHolder:
    """Secret values typed into the wizard, by key path; written only to 0600 files on save."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def file_for(self, key: str, answers_path: Path) -> str:
        return f"{answers_path.stem}.secrets/{key}"

    def put(self, key: str, value: str) -> None:
        from installer import redact

        if value:
            redact.register(value)
            self.values[key] = value
        else:
            self.values.pop(key, None)

    def write(self, answers_path: Path) -> list[Path]:
        """Write every typed secret beside the answers file, mode 0600 in a 0700 folder."""
        import os

        from installer.answers import write_private

        written = []
        for key, value in self.values.items():
            path = answers_path.parent / self.file_for(key, answers_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(path.parent, 0o700)
            write_private(path, value)
            written.append(path)
        return written


class FieldRow(Vertical):
    """One leaf question: its title, an input, and the error under it."""

    DEFAULT_CSS = """
    FieldRow { height: auto; margin: 0 0 1 0; }
    FieldRow > .field-title { color: $text; text-style: bold; }
    FieldRow > .field-help { color: $text-muted; }
    FieldRow > .field-error { color: $error; display: none; }
    FieldRow.-invalid > .field-error { display: block; }
    FieldRow.-invalid Input { background: $error 25%; }
    FieldRow Input { background: $boost; }
    FieldRow Input:focus { background: $primary 30%; }
    FieldRow > Input, FieldRow > Select { width: 100%; }
    FieldRow .secret-line { height: auto; }
    FieldRow .secret-line Select { width: 30; margin-right: 1; }
    FieldRow .secret-line Input { width: 1fr; }
    FieldRow Horizontal.switch-line { height: auto; }
    FieldRow Horizontal.switch-line Label { padding: 0 1; }
    FieldRow Switch { border: none; height: 1; padding: 0; }
    """

    def __init__(self, question: Question, initial: Any, secrets: SecretHolder | None, section: str, compact: bool = False,
                 dom_id: str | None = None) -> None:
        super().__init__(id=dom_id or _dom_id((section, *question.loc)), classes="field-row")
        self.question = question
        self.initial = initial
        self.secrets = secrets
        self.section = section
        self.compact = compact
        self.touched = False
        self.answers_path: Callable[[], Path] | None = None

    @property
    def full_key(self) -> str:
        return key_path((self.section, *self.question.loc))

    def compose(self) -> ComposeResult:
        q = self.question
        marker = " *" if q.required and q.kind not in ("bool",) else ""
        if not self.compact:
            yield Label(f"{q.title}{marker}", classes="field-title", markup=False)
        value = self.initial
        if q.kind == "bool":
            with Horizontal(classes="switch-line"):
                yield Switch(value=bool(value if value is not None else q.default), id="value")
                yield Label(q.help.split(". ")[0] if q.help else "", markup=False)
        elif q.kind == "choice":
            options = [(c, c) for c in q.choices]
            chosen = value if value in q.choices else (q.default if q.default in q.choices else Select.NULL)
            yield Select(options, value=chosen, allow_blank=not q.required or chosen is Select.NULL,
                         id="value", prompt=q.title if self.compact else "Select", compact=True)
        elif q.kind == "secret":
            yield from self._compose_secret(value)
        elif q.kind == "map":
            entries = value if isinstance(value, dict) else {}
            text = "\n".join(f"{k}  {v}" for k, v in entries.items()) or "(none yet)"
            yield Static(text, id="value", classes="map-value", markup=False)
        else:
            shown = _text(value if value is not None else q.default)
            kind = {"int": "integer", "float": "number"}.get(q.kind, "text")
            yield Input(value=shown, placeholder=q.title if self.compact else "", type=kind, id="value",
                        valid_empty=True, compact=True)
        if not self.compact and q.help and q.kind != "bool":
            yield Static(q.help, classes="field-help", markup=False)
        if not self.compact:
            yield Static("", classes="field-error", markup=False)

    def _compose_secret(self, value: Any) -> ComposeResult:
        q = self.question
        modes = ["env", "file"] + (["generate"] if q.allow_generate else []) + ["type"]
        mode: Any = Select.NULL
        text = ""
        typed = self.secrets.values.get(self.full_key) if self.secrets else None
        if typed is not None:
            mode = "type"
        elif isinstance(value, dict):
            for candidate in ("env", "file", "generate"):
                if value.get(candidate):
                    mode, text = candidate, ("" if candidate == "generate" else str(value[candidate]))
                    break
        elif q.default is not None and q.allow_generate:
            mode = "generate"
        with Horizontal(classes="secret-line"):
            yield Select([(SECRET_MODES[m], m) for m in modes], value=mode, allow_blank=not q.required or mode is Select.NULL,
                         id="mode", prompt="where from?", compact=True)
            yield Input(value=text, id="value", password=mode == "type",
                        placeholder=self._placeholder(mode), disabled=mode == "generate", compact=True)

    @staticmethod
    def _placeholder(mode: Any) -> str:
        return {"env": "VARIABLE_NAME", "file": "path/to/file (relative to the answers file)",
                "type": "typed value is never shown", "generate": ""}.get(mode, "")

    @on(Select.Changed, "#mode")
    def _mode_changed(self, event: Select.Changed) -> None:
        box = self.query_one("#value", Input)
        mode = event.value
        box.password = mode == "type"
        box.disabled = mode == "generate"
        box.placeholder = self._placeholder(mode)
        if mode == "type" or (self.secrets and self.full_key in self.secrets.values):
            box.value = ""
        if mode != "type" and self.secrets:
            self.secrets.put(self.full_key, "")

    @on(Input.Changed, "#value")
    def _typed(self, event: Input.Changed) -> None:
        if self.question.kind == "secret" and self.secrets is not None:
            mode = self.query_one("#mode", Select).value
            if mode == "type":
                self.secrets.put(self.full_key, event.value)

    def on_descendant_blur(self) -> None:
        self.touched = True

    def value(self) -> Any:
        """The field's plain value; a default left as shown stays implicit, as in a hand-written file."""
        value = self._value()
        q = self.question
        if self.initial is None and q.default is not None and value is not OMIT:
            if q.kind == "secret" and value == q.default:
                return OMIT
            if q.kind != "secret" and (value == q.default or _text(value) == _text(q.default)):
                return OMIT
        return value

    def _value(self) -> Any:
        q = self.question
        if q.kind == "bool":
            return self.query_one("#value", Switch).value
        if q.kind == "choice":
            chosen = self.query_one("#value", Select).value
            return OMIT if chosen is Select.NULL else chosen
        if q.kind == "map":
            return self.initial if isinstance(self.initial, dict) and self.initial else OMIT
        if q.kind == "secret":
            mode = self.query_one("#mode", Select).value
            text = self.query_one("#value", Input).value.strip()
            if mode is Select.NULL:
                return OMIT
            if mode == "generate":
                return {"generate": True}
            if mode == "type":
                if self.secrets is None or self.full_key not in self.secrets.values:
                    return {"file": ""}
                path = self.answers_path() if self.answers_path else Path("answers.yaml")
                return {"file": self.secrets.file_for(self.full_key, path)}
            return {mode: text}
        text = self.query_one("#value", Input).value.strip()
        if text == "":
            return OMIT
        if q.kind == "strlist":
            return [part.strip() for part in text.split(",") if part.strip()]
        return text

    def set_value(self, value: Any) -> None:
        """Used by screens that fill a field from an action (e.g. pinned host keys)."""
        if self.question.kind == "map":
            self.initial = value
            entries = value if isinstance(value, dict) else {}
            self.query_one("#value", Static).update("\n".join(f"{k}  {v}" for k, v in entries.items()) or "(none yet)")
        elif self.question.kind in ("text", "int", "float", "path", "strlist"):
            self.query_one("#value", Input).value = _text(value)

    def show_error(self, messages: list[str]) -> None:
        if messages == getattr(self, "_shown", []):
            return
        self._shown = messages
        self.set_class(bool(messages), "-invalid")
        if self.compact:
            self.tooltip = "\n".join(messages) or None
            return
        self.query_one(".field-error", Static).update("\n".join(f"✗ {m}" for m in messages))


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
    GroupBox > Horizontal.group-switch Switch { border: none; height: 1; padding: 0; }
    GroupBox > .group-error { color: $error; }
    """

    def __init__(self, question: Question, initial: Any, form: "SectionForm", show_title: bool = True) -> None:
        super().__init__(id=_dom_id((form.section, *question.loc), "g"), classes="group-box")
        self.question = question
        self.initial = initial
        self.form = form
        self.show_title = show_title
        self.enabled = not question.optional or initial is not None

    def compose(self) -> ComposeResult:
        q = self.question
        if self.show_title:
            yield Label(q.title, classes="group-title", markup=False)
        if q.optional:
            with Horizontal(classes="group-switch"):
                yield Switch(value=self.enabled, id="use")
                yield Label(f"Use {q.title.lower()}", markup=False)
        with Vertical(classes="group-body"):
            for child in q.children:
                yield self.form.build(child, get_in(self.initial, (child.name,)) if isinstance(self.initial, dict) else None)

    def on_mount(self) -> None:
        self.set_class(not self.enabled, "-off")

    @on(Switch.Changed, "#use")
    def _toggle(self, event: Switch.Changed) -> None:
        event.stop()
        self.enabled = event.value
        self.set_class(not self.enabled, "-off")
        self.form.changed()

    def value(self) -> Any:
        if not self.enabled:
            return OMIT
        data: dict[str, Any] = {}
        for child in self.question.children:
            widget = self.form.widget_for(child)
            if widget is None:
                continue
            value = widget.value()
            if value is not OMIT:
                data[child.name] = value
        data.update(self.form.extra_values(self.question.loc))
        if not data and not self.question.required and not self.question.optional and self.initial is None:
            return OMIT
        return data


class UnionBox(Vertical):
    """A discriminated union: a choice of kind, then only the fields that kind needs."""

    DEFAULT_CSS = """
    UnionBox { height: auto; }
    UnionBox > .union-title { text-style: bold; }
    UnionBox > .union-help { color: $text-muted; }
    UnionBox > GroupBox { display: none; border-left: none; padding: 0; }
    UnionBox > GroupBox.-chosen { display: block; }
    """

    def __init__(self, question: Question, initial: Any, form: "SectionForm") -> None:
        super().__init__(id=_dom_id((form.section, *question.loc), "u"), classes="union-box")
        self.question = question
        self.initial = initial if isinstance(initial, dict) else {}
        self.form = form
        tag = self.initial.get(question.discriminator)
        self.chosen = tag if tag in question.variants else question.default

    def compose(self) -> ComposeResult:
        q = self.question
        yield Label(q.title, classes="union-title", markup=False)
        if q.help:
            yield Static(q.help, classes="union-help", markup=False)
        options = [(Text(self._label(tag, variant)), tag) for tag, variant in q.variants.items()]
        yield Select(options, value=self.chosen, allow_blank=False, id=_dom_id((self.form.section, *q.loc), "kind"), compact=True)
        yield self._variant_box(self.chosen)

    def _variant_box(self, tag: str) -> GroupBox:
        """Variants are built when first chosen; once built they stay, hidden, so their values survive."""
        variant = self.question.variants[tag]
        initial = self.initial if tag == self.initial.get(self.question.discriminator, self.question.default) else {}
        box = GroupBox(variant, initial, self.form, show_title=False)
        box.add_class("-chosen")
        self.form.register(variant, box)
        return box

    @staticmethod
    def _label(tag: str, variant: Question) -> str:
        doc = variant.help.split(";")[0].rstrip(".")
        return f"{tag}: {doc}" if doc else tag

    async def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != _dom_id((self.form.section, *self.question.loc), "kind") or event.value is Select.NULL:
            return
        if str(event.value) == self.chosen:
            return
        self.chosen = str(event.value)
        if self.form.widget_for(self.question.variants[self.chosen]) is None:
            await self.mount(self._variant_box(self.chosen))
        for box in self.query_children(GroupBox):
            box.set_class(box.question.loc[-1] == self.chosen, "-chosen")
        self.form.changed()

    def value(self) -> Any:
        box = self.form.widget_for(self.question.variants[self.chosen])
        data = box.value() if box is not None else {}
        return {self.question.discriminator: self.chosen, **(data if isinstance(data, dict) else {})}


class ItemsEditor(Vertical):
    """A list of small models (the node list): one compact line per item, add and remove."""

    DEFAULT_CSS = """
    ItemsEditor { height: auto; margin: 0 0 1 0; }
    ItemsEditor > .items-title { text-style: bold; }
    ItemsEditor > .items-help { color: $text-muted; }
    ItemsEditor .items-lines { height: auto; }
    ItemsEditor .item-line { height: auto; }
    ItemsEditor .item-line FieldRow { width: 12; margin: 0; }
    ItemsEditor .item-line FieldRow.-invalid Select { background: $error 25%; }
    ItemsEditor .item-line FieldRow.-host { width: 1fr; }
    ItemsEditor .item-line FieldRow.-role { width: 18; }
    ItemsEditor .item-line FieldRow.-port { width: 8; }
    ItemsEditor .item-line FieldRow { margin-right: 1; }
    ItemsEditor .item-line Button { min-width: 3; width: 3; }
    ItemsEditor > .items-error { color: $error; }
    ItemsEditor > Horizontal.items-actions { height: auto; }
    """
    COLUMNS = ("name", "host", "role", "port", "user")

    def __init__(self, question: Question, initial: Any, form: "SectionForm") -> None:
        super().__init__(id=_dom_id((form.section, *question.loc), "i"), classes="items-editor")
        self.question = question
        self.items: list[dict] = [dict(i) for i in initial] if isinstance(initial, list) else []
        self.form = form
        self.serial = 0
        self.lines: list[tuple[Horizontal, list[FieldRow], dict]] = []

    def compose(self) -> ComposeResult:
        q = self.question
        yield Label(q.title + (" *" if q.required else ""), classes="items-title", markup=False)
        if q.help:
            yield Static(f"{q.help}  Columns: {', '.join(c.name for c in self._columns())}", classes="items-help", markup=False)
        yield Vertical(id="lines", classes="items-lines")
        yield Static("", classes="items-error", markup=False).set_styles("display: none;")
        with Horizontal(classes="items-actions"):
            yield Button("Add a node", id="add-item", variant="primary", compact=True)

    def _columns(self) -> list[Question]:
        assert self.question.item is not None
        return [c for c in self.question.item.children if c.name in self.COLUMNS]

    async def on_mount(self) -> None:
        for item in self.items or ([{}] if self.question.required else []):
            await self.add_line(item)

    async def add_line(self, item: dict | None = None) -> Horizontal:
        item = dict(item or {})
        index = len(self.lines)
        self.serial += 1
        rows = []
        for column in self._columns():
            loc = (*self.question.loc, index, column.name)
            row = FieldRow(Question(**{**column.__dict__, "loc": loc}), item.get(column.name), None, self.form.section, compact=True,
                           dom_id=f"{_dom_id((self.form.section, *self.question.loc), 'n')}-{self.serial}-{column.name}")
            row.add_class(f"-{column.name}")
            rows.append(row)
        line = Horizontal(*rows, Button("✕", id=f"remove-{self.serial}", classes="remove-item", tooltip="remove this node", compact=True),
                          classes="item-line")
        self.lines.append((line, rows, item))
        await self.query_one("#lines").mount(line)
        return line

    @on(Button.Pressed, "#add-item")
    async def _add(self, event: Button.Pressed) -> None:
        event.stop()
        line = await self.add_line()
        line.query(Input).first().focus()
        self.form.changed()

    @on(Button.Pressed, ".remove-item")
    async def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        for index, (line, _rows, _item) in enumerate(self.lines):
            if event.button in line.children:
                self.lines.pop(index)
                await line.remove()
                break
        self._renumber()
        self.form.changed()

    def _renumber(self) -> None:
        for index, (_line, rows, _item) in enumerate(self.lines):
            for row in rows:
                loc = (*self.question.loc, index, row.question.name)
                row.question = Question(**{**row.question.__dict__, "loc": loc})

    def rows(self) -> list[FieldRow]:
        return [row for _line, rows, _item in self.lines for row in rows]

    def value(self) -> Any:
        items = []
        for _line, rows, original in self.lines:
            data = {k: v for k, v in original.items() if k not in self.COLUMNS}
            for row in rows:
                value = row.value()
                if value is not OMIT:
                    data[row.question.name] = value
            items.append(data)
        return items if items or self.question.required else (items if self.lines else OMIT)

    def hosts(self) -> list[tuple[str, int | None]]:
        found = []
        for _line, rows, _item in self.lines:
            values = {row.question.name: row.value() for row in rows}
            host = values.get("host")
            if host is not OMIT and host:
                port = values.get("port")
                found.append((str(host), int(port) if port not in (OMIT, None) and str(port).isdigit() else None))
        return found


def _item_label(editor: "ItemsEditor", error: FieldError) -> str:
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
        def __init__(self, form: "SectionForm") -> None:
            super().__init__()
            self.form = form

    def __init__(self, section: str, question: Question, initial: Any, base_dir: Callable[[], Path],
                 secrets: SecretHolder | None = None, answers_path: Callable[[], Path] | None = None,
                 choices: dict[Loc, list[str]] | None = None, hidden: set[Loc] | None = None,
                 validator: Callable[[Any], list[FieldError]] | None = None, id: str | None = None) -> None:
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
        self.extra: dict[Loc, Callable[[], dict]] = {}
        self.extra_errors: list[FieldError] = []
        self.show_all = False
        self.errors: list[FieldError] = []
        self._widgets: dict[int, Widget] = {}

    # -- building

    def build(self, original: Question, initial: Any) -> Widget:
        question = original
        if question.loc in self.choices:
            question = Question(**{**question.__dict__, "kind": "choice", "choices": tuple(self.choices[question.loc])})
        if question.kind == "union":
            widget: Widget = UnionBox(question, initial, self)
        elif question.kind == "group":
            widget = GroupBox(question, initial, self)
        elif question.kind == "items":
            widget = ItemsEditor(question, initial, self)
        else:
            widget = FieldRow(question, initial, self.secrets, self.section)
            widget.answers_path = self.answers_path
        if question.loc in self.hidden:
            widget.display = False
        self._widgets[id(original)] = widget
        return widget

    def compose(self) -> ComposeResult:
        if self.question.kind == "group" and not self.question.optional:
            for child in self.question.children:
                yield self.build(child, get_in(self.initial, (child.name,)))
        else:
            yield self.build(self.question, self.initial)
        yield Static("", classes="form-error", markup=False).set_styles("display: none;")

    def register(self, question: Question, widget: Widget) -> None:
        self._widgets[id(question)] = widget

    def widget_for(self, question: Question) -> Any:
        return self._widgets.get(id(question))

    def extra_values(self, loc: Loc) -> dict:
        provider = self.extra.get(loc)
        return provider() if provider else {}

    # -- values and validation

    def data(self) -> Any:
        if self.question.kind == "group" and not self.question.optional:
            data = {}
            for child in self.question.children:
                widget = self.widget_for(child)
                value = widget.value() if widget is not None else OMIT
                if value is not OMIT:
                    data[child.name] = value
            data.update(self.extra_values(()))
            return data
        value = self.widget_for(self.question).value()
        return None if value is OMIT else value

    def rows(self) -> list[FieldRow]:
        found = list(self.query(FieldRow))
        return found

    def validate(self) -> list[FieldError]:
        data = self.data()
        errors = self.validator(data) if self.validator else section_errors(self.section, data, self.base_dir())
        self.errors = errors + self.extra_errors
        self._show()
        return self.errors

    def _visible(self, widget: Widget) -> bool:
        node: Any = widget
        while node is not None and node is not self:
            if isinstance(node, GroupBox) and (node.has_class("-off") or (isinstance(node.parent, UnionBox) and not node.has_class("-chosen"))):
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
            visible = [e for e in mine if self.show_all or id(e) in touched_items or (len(e.loc) == len(editor.question.loc) and not e.missing)]
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
