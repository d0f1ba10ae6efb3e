"""Text from outside (nodes, the cluster, files) made safe to show on a terminal or write to a log.

A node's /etc/os-release or a pod's log line can carry escape sequences: OSC retitles the
operator's terminal, CSI moves the cursor and can overwrite a FAIL line. Every face and the
debug log show such characters escaped (\\x1b), never raw; tab and newline stay as they are.
"""
from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the bidi overrides that reorder what is shown.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# For answers: any control character at all (newline and tab included).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every character that could drive a terminal written as an escape."""
    if not text or not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape, text)


def has_control(text: str) -> bool:
    return bool(_CONTROL.search(text))
