"""A table that only shows figures: Tab passes it by, since there is nothing in it to choose or type."""
from __future__ import annotations

from textual.widgets import DataTable


class ReadOnlyTable(DataTable, can_focus=False):
    DEFAULT_CSS = """
    ReadOnlyTable { height: auto; }
    """
