"""Runs the real headless installer (./install.sh --answers ... --yes) against a bare rig, and reads what happened."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.rig.rig import Rig

REPO = Path(__file__).resolve().parents[2]


class BareInstall:
    """A bare rig, its answers and a state directory of the test's own."""

    def __init__(self, rig: Rig, state: Path) -> None:
        self.rig, self.state = rig, state
        self.env = {**os.environ, **rig.env, "PYTHONPATH": str(REPO), "DIGIT_INSTALLER_READINESS_POLL": "0.2",
                    "DIGIT_INSTALLER_NODE_READY_TIMEOUT": "60"}
        self.env.pop("DIGIT_INSTALLER_TEST_KILL_AT", None)

    def run(self, *extra: str, kill_at: str | None = None, timeout: float = 400,
            answers: Path | None = None) -> subprocess.CompletedProcess:
        env = dict(self.env)
        if kill_at:
            env["DIGIT_INSTALLER_TEST_KILL_AT"] = kill_at
        return subprocess.run([str(REPO / "install.sh"), "--answers", str(answers or self.rig.answers_path), "--yes",
                               "--state-dir", str(self.state), "--output", "plain", *extra],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)

    def run_without_preflight(self, *extra: str) -> subprocess.CompletedProcess:
        """The pipeline minus preflight, so the provision step's own guards are what stops a run."""
        return subprocess.run(["python3" if not Path(REPO / ".venv/bin/python").exists() else str(REPO / ".venv/bin/python"),
                               "-m", "tests.deploy.pipeline_driver", "--answers", str(self.rig.answers_path),
                               "--state-dir", str(self.state), "--output", "plain", *extra],
                              cwd=REPO, env=self.env, capture_output=True, text=True, timeout=400)

    # --- what the stand-ins saw ---------------------------------------------------------------
    def events(self, who: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.rig.events() if (who is None or e["who"] == who) and (event is None or e["event"] == event)]

    def node_file(self, node: str, path: str) -> Path:
        return self.rig.node_root(self.rig.node(node), path)

    def journal(self) -> dict[str, Any]:
        return json.loads((self.state / "journal.json").read_text())

    def outputs(self, step: str) -> dict[str, Any]:
        steps = self.journal()["steps"]
        record = steps[step] if isinstance(steps, dict) else next(s for s in steps if s["id"] == step)
        return record["outputs"]


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777
