"""A named confirmation: a checkbox whose mark says whether it is ticked ([X] or [ ]), not only its colour."""
from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class ConfirmBox(Checkbox):
    DEFAULT_CSS = """
    ConfirmBox { border: none; padding: 0; width: 100%; height: auto; }
    ConfirmBox:focus { background: $boost; }
    """

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button
