"""What every stand-in shares: which rig node it runs on, and the one event log with one clock."""
from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

RIG_DIR_ENV = "DIGIT_RIG_DIR"


def rig_dir() -> Path:
    """The rig directory baked into the stand-in's wrapper (sudo drops the caller's environment)."""
    return Path(os.environ[RIG_DIR_ENV])


def standin_dir() -> Path:
    return rig_dir() / "standins"


def this_node() -> dict[str, Any]:
    """The rig node this process runs on, found by the node's own /etc/machine-id (a per-node bind mount)."""
    machine_id = Path("/etc/machine-id").read_text().strip()
    table = json.loads((standin_dir() / "nodes.json").read_text())
    if machine_id not in table:
        raise SystemExit(f"stand-in: machine id {machine_id} is not a node of the rig in {rig_dir()}")
    return table[machine_id]


def node_runtime(node: dict[str, Any]) -> Path:
    """Per-node state the rig keeps outside the node's view (the systemctl shim's unit states)."""
    path = Path(node["runtime"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def record(who: str, event: str, **fields: Any) -> None:
    """Append one event: time.monotonic() is CLOCK_MONOTONIC, the same clock in every process and namespace."""
    try:
        node = this_node()["name"]
    except (OSError, KeyError, ValueError, SystemExit):
        node = "?"
    entry = {"t": time.monotonic(), "node": node, "who": who, "event": event, "pid": os.getpid(), **fields}
    path = standin_dir() / "events.jsonl"
    with open(path, "a") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write(json.dumps(entry, sort_keys=True) + "\n")


def read_events(rig: Path) -> list[dict[str, Any]]:
    path = Path(rig) / "standins" / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
