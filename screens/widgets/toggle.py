"""An on/off field that says its state in words, so it reads the same without colour and when focused.

Textual's Switch draws its state as a coloured slider; at one line high its
focused look is an empty box, and on a monochrome terminal on and off look
alike. This keeps the Switch's API (value, Changed, Enter/Space/click toggle)
and draws `[x] yes` or `[ ] no`.
"""
from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.widgets import Switch


class Toggle(Switch):
    DEFAULT_CSS = """
    Toggle { border: none; height: 1; width: auto; padding: 0 1; background: $boost; }
    Toggle:focus { border: none; background: $primary 40%; text-style: bold; }
    Toggle.-on { color: $success; }
    """

    def render(self) -> Text:
        return Text("[x] yes" if self.value else "[ ] no ")

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return 7

    def watch_value(self, value: bool) -> None:
        self._should_animate = False  # no slider to slide
        super().watch_value(value)
        self.refresh()
