"""A drop-down that keeps keys typed while its list opens.

Textual's Select opens its list on Enter, Down, Up or Space and focuses the list a
moment later; keys that arrive before (Enter, Down, Enter typed in one burst, as over
SSH) reached the closed field, opened it again and were lost, leaving the old choice
and the list open, and the keys after landed in other fields. Here a key that arrives
while the list is open but not yet focused moves or chooses in the list.
"""
from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Select
from textual.widgets._select import SelectOverlay


class ChoiceSelect(Select):
    BINDINGS = [
        Binding("enter", "menu('enter')", "Show menu", show=False),
        Binding("down", "menu('down')", "Show menu", show=False),
        Binding("up", "menu('up')", "Show menu", show=False),
        Binding("space", "menu('space')", "Show menu", show=False),
    ]

    def action_menu(self, key: str) -> None:
        if not self.expanded:
            self.action_show_overlay()
            return
        overlay = self.query_one(SelectOverlay)
        if key == "down":
            overlay.action_cursor_down()
        elif key == "up":
            overlay.action_cursor_up()
        else:
            overlay.action_select()
