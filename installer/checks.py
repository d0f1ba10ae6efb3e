"""The outcome of a check, one vocabulary for preflight (before) and verify (after the install).

skip always comes with the reason the check could not run, in the check's message.
"""
from __future__ import annotations

PASS = "pass"
WARN = "warn"
FAIL = "fail"
SKIP = "skip"
OUTCOMES = (PASS, WARN, FAIL, SKIP)
