import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "assets" / "examples").glob("*.yaml"))


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    """Run the installer as an operator would (through python -m installer)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "installer", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        stdin=stdin,
        timeout=120,
    )


@pytest.fixture
def valid_text() -> str:
    return (ROOT / "assets" / "examples" / "existing-cluster.yaml").read_text()


@pytest.fixture
def write(tmp_path):
    def _write(text: str | bytes, name: str = "answers.yaml") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return _write
