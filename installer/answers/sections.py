"""Which answers sections each page of the wizard asks for, in the order an operator is asked.

One owner for both wizard faces (the Textual pages and the line mode) and for `--interactive
--sections`, which names pages by the sections they hold.
"""
from __future__ import annotations

PAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "target": ("name", "target"),
    "sizing": ("sizing",),
    "domain": ("domain",),
    "database": ("database", "registry"),
    "credentials": ("credentials", "config_repos"),
    "release": ("release",),
    "monitoring": ("monitoring", "ci"),
}
