"""A list of small models in a form (the node list): one compact line per item, add and remove."""
from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from screens.questions import Question
from screens.widgets.common import OMIT, ValueChanged, widget_id
from screens.widgets.field_row import FieldRow


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

    def __init__(self, question: Question, initial: Any, section: str) -> None:
        super().__init__(id=widget_id((section, *question.loc), "i"), classes="items-editor")
        self.question = question
        self.items: list[dict] = [dict(i) for i in initial] if isinstance(initial, list) else []
        self.section = section
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
            row = FieldRow(Question(**{**column.__dict__, "loc": loc}), item.get(column.name), None, self.section, compact=True,
                           dom_id=f"{widget_id((self.section, *self.question.loc), 'n')}-{self.serial}-{column.name}")
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
        self.post_message(ValueChanged())

    @on(Button.Pressed, ".remove-item")
    async def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        for index, (line, _rows, _item) in enumerate(self.lines):
            if event.button in line.children:
                self.lines.pop(index)
                await line.remove()
                break
        self._renumber()
        self.post_message(ValueChanged())

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
        if not items and not self.question.required:
            return OMIT
        return items

    def hosts(self) -> list[tuple[str, int | None]]:
        found = []
        for _line, rows, _item in self.lines:
            values = {row.question.name: row.value() for row in rows}
            host = values.get("host")
            if host is not OMIT and host:
                port = values.get("port")
                found.append((str(host), int(port) if port not in (OMIT, None) and str(port).isdigit() else None))
        return found
