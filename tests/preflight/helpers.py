"""Helpers for preflight tests: run the real CLI against a rig, and edit copies of its answers file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.rig.rig import Rig

REPO = Path(__file__).resolve().parents[2]


def run_cli(rig: Rig, *args: str, answers: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> tuple[int, str, str, float]:
    """`install.sh preflight` as an operator runs it; returns (exit code, stdout, stderr, seconds)."""
    environment = {**os.environ, **rig.env, **(env or {})}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "installer", "preflight", "--answers", str(answers or rig.answers_path), *args],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=timeout,
    )
    return result.returncode, result.stdout, result.stderr, time.monotonic() - started


def run_json(rig: Rig, *args: str, **kwargs: Any) -> tuple[int, dict, str, float]:
    code, out, err, seconds = run_cli(rig, "--json", *args, **kwargs)
    assert out.strip(), f"no JSON on stdout (exit {code}): {err}"
    return code, json.loads(out), err, seconds


def problems(report: dict, status: str = "fail") -> set[tuple[str, str]]:
    return {(c["id"], c["target"]) for c in report["checks"] if c["status"] == status}


def edited_answers(rig: Rig, name: str, edit) -> Path:
    """A copy of the rig's answers file beside it (so relative references still resolve), changed by edit(data)."""
    yaml = YAML()
    data = yaml.load(rig.answers_path.read_text())
    edit(data)
    path = rig.answers_path.with_name(name)
    with path.open("w") as handle:
        yaml.dump(data, handle)
    return path


def run_inprocess(rig: Rig, *args: str, answers: Path | None = None,
                  env: dict[str, str] | None = None) -> tuple[int, dict, str, float]:
    """The same checks without a new interpreter: (exit code the command would give, JSON report, '', seconds)."""
    from installer.answers import load_answers
    from installer.preflight import run_preflight

    options: dict[str, list[str]] = {}
    for flag, value in zip(args[::2], args[1::2], strict=False):
        options[flag.lstrip("-")] = [v for v in value.split(",") if v]
    saved = {name: os.environ.get(name) for name in {**rig.env, **(env or {})}}
    os.environ.update({**rig.env, **(env or {})})
    try:
        started = time.monotonic()
        report = run_preflight(load_answers(answers or rig.answers_path), only=options.get("only"),
                               skip=options.get("skip"))
        seconds = time.monotonic() - started
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return (0 if report.ok else 1), json.loads(json.dumps(report.to_dict())), "", seconds
