"""ruff and mypy, as configured in pyproject.toml, are clean: the suite fails with their report otherwise.

Both run from the virtualenv the suite runs in (the `test` extra installs them). mypy keeps its
cache outside the tree, one per checkout, so a rerun only checks what changed.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


def test_ruff_finds_nothing() -> None:
    result = _run([str(BIN / "ruff"), "check", "--no-cache", "--output-format", "concise", "."], timeout=120)
    assert result.returncode == 0, f"ruff check . found:\n{result.stdout}{result.stderr}"


def test_mypy_finds_nothing_in_installer() -> None:
    cache = Path(tempfile.gettempdir()) / f"digit-installer-mypy-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]}"
    result = _run([str(BIN / "mypy"), "--cache-dir", str(cache)], timeout=600)
    assert result.returncode == 0, f"mypy (strict on installer/) found:\n{result.stdout}{result.stderr}"
    assert "Success: no issues found" in result.stdout, result.stdout
