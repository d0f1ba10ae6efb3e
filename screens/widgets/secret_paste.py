"""A masked, multi-line field for a secret that spans lines (a private key pasted or typed).

Textual's Input keeps only the first line of a paste, which turned a pasted
deploy key into its `-----BEGIN` line. This field keeps every line, whether the
terminal delivers the text as a bracketed paste or as keystrokes with newlines
(a paste without bracketed-paste support, tmux `send-keys`), and never draws
the characters: only how many lines and characters it holds.
"""
from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

NEWLINE_KEYS = frozenset({"enter", "ctrl+j", "newline"})


class SecretPaste(Widget, can_focus=True):
    """Holds a multi-line secret; shows only its size. Backspace removes a character, Ctrl+U clears it."""

    DEFAULT_CSS = """
    SecretPaste { height: 1; width: 1fr; background: $boost; padding: 0 1; }
    SecretPaste:focus { background: $primary 30%; }
    """
    BINDINGS = [Binding("ctrl+u", "clear", "Clear", show=False)]

    class Changed(Message):
        """The held text changed; `value` is the whole secret (the receiver must keep it private)."""

        def __init__(self, paste: SecretPaste, value: str) -> None:
            super().__init__()
            self.paste = paste
            self.value = value

        @property
        def control(self) -> SecretPaste:
            return self.paste

    def __init__(self, value: str = "", *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self._value = value
        self.placeholder = placeholder

    @property
    def value(self) -> str:
        return self._value

    @value.setter
    def value(self, text: str) -> None:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if text != self._value:
            self._value = text
            self.refresh()
            self.post_message(self.Changed(self, text))

    def render(self) -> Text:
        if not self._value:
            return Text(self.placeholder, style="italic dim")
        lines = self._value.rstrip("\n").count("\n") + 1
        return Text(f"●●●●●●  {lines} line{'s' if lines != 1 else ''}, {len(self._value)} characters (not shown)")

    def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()
        self.value = self._value + event.text

    def _on_key(self, event: events.Key) -> None:
        if event.key in NEWLINE_KEYS:
            self.value = self._value + "\n"
        elif event.key == "backspace":
            self.value = self._value[:-1]
        elif event.is_printable and event.character:
            self.value = self._value + event.character
        else:
            return
        event.stop()
        event.prevent_default()

    def action_clear(self) -> None:
        self.value = ""
