"""Stand-in for systemctl on a rig node (there is no systemd in a network namespace).

Records every call. Units are read from /usr/local/lib/systemd/system or /etc/systemd/system;
`start` runs the unit's ExecStart as a daemon in its own session and, like Type=notify, returns
only when the service says READY=1 (in the file named by RIG_NOTIFY_FILE) or fails when it exits.
State (pid, enabled) is kept per node outside the node's filesystem view.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.rig.standin.common import node_runtime, record, this_node

UNIT_DIRS = (Path("/etc/systemd/system"), Path("/usr/local/lib/systemd/system"), Path("/lib/systemd/system"))
START_TIMEOUT = 120.0


def state_dir() -> Path:
    path = node_runtime(this_node()) / "systemd"
    path.mkdir(parents=True, exist_ok=True)
    return path


def unit_file(unit: str) -> Path | None:
    for folder in UNIT_DIRS:
        if (folder / unit).is_file():
            return folder / unit
    return None


def exec_start(path: Path) -> list[str]:
    for line in path.read_text().splitlines():
        if line.startswith("ExecStart=") and line[len("ExecStart="):].strip():
            return shlex.split(line[len("ExecStart="):].lstrip("-"))
    raise SystemExit(f"{path}: no ExecStart")


def normalise(unit: str) -> str:
    return unit if "." in unit else f"{unit}.service"


def pid_of(unit: str) -> int | None:
    try:
        pid = int((state_dir() / f"{unit}.pid").read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return None if state == "Z" else pid
    except (OSError, IndexError):
        return None


def enabled() -> set[str]:
    path = state_dir() / "enabled"
    return set(path.read_text().split()) if path.exists() else set()


def set_enabled(units: set[str]) -> None:
    (state_dir() / "enabled").write_text("\n".join(sorted(units)) + "\n")


def start(unit: str) -> int:
    if pid_of(unit):
        return 0
    path = unit_file(unit)
    if path is None:
        print(f"Failed to start {unit}: Unit {unit} not found.", file=sys.stderr)
        return 5
    argv = exec_start(path)
    notify = state_dir() / f"{unit}.notify"
    notify.unlink(missing_ok=True)
    (state_dir() / f"{unit}.failed").unlink(missing_ok=True)
    log = open(state_dir() / f"{unit}.log", "ab")
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "RIG_NOTIFY_FILE": str(notify),
           "DIGIT_RIG_DIR": os.environ["DIGIT_RIG_DIR"], "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                               env=env, cwd="/")
    (state_dir() / f"{unit}.pid").write_text(str(process.pid))
    record("systemctl", "spawned", unit=unit, argv=argv, service_pid=process.pid)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if notify.exists() and "READY=1" in notify.read_text():
            record("systemctl", "started", unit=unit, service_pid=process.pid)
            return 0
        if process.poll() is not None:
            (state_dir() / f"{unit}.failed").write_text(str(process.returncode))
            record("systemctl", "start-failed", unit=unit, code=process.returncode)
            print(f"Job for {unit} failed because the control process exited with error code.", file=sys.stderr)
            return 1
        time.sleep(0.05)
    record("systemctl", "start-timeout", unit=unit)
    print(f"Job for {unit} timed out.", file=sys.stderr)
    return 1


def stop(unit: str) -> int:
    pid = pid_of(unit)
    if pid:
        with_group = os.getpgid(pid) == pid
        os.killpg(pid, signal.SIGTERM) if with_group else os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while pid_of(unit) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_of(unit):
            os.kill(pid, signal.SIGKILL)
        record("systemctl", "stopped", unit=unit, service_pid=pid)
    (state_dir() / f"{unit}.pid").unlink(missing_ok=True)
    return 0


def main(argv: list[str]) -> int:
    record("systemctl", "called", argv=argv, env=dict(os.environ))
    flags = [a for a in argv if a.startswith("-")]
    args = [a for a in argv if not a.startswith("-")]
    if not args:
        print("systemctl stand-in: a verb is needed", file=sys.stderr)
        return 1
    verb, units = args[0], [normalise(u) for u in args[1:]]
    quiet = "--quiet" in flags or "-q" in flags
    if verb == "daemon-reload":
        return 0
    if verb in ("enable", "disable"):
        current = enabled()
        for unit in units:
            if verb == "enable" and unit_file(unit) is None:
                print(f"Failed to enable unit: Unit file {unit} does not exist.", file=sys.stderr)
                return 1
            current = current | {unit} if verb == "enable" else current - {unit}
        set_enabled(current)
        if "--now" in flags:
            for unit in units:
                code = start(unit) if verb == "enable" else stop(unit)
                if code:
                    return code
        return 0
    if verb == "start":
        return max([start(u) for u in units] or [0])
    if verb == "stop":
        return max([stop(u) for u in units] or [0])
    if verb == "restart":
        code = 0
        for unit in units:
            stop(unit)
            code = max(code, start(unit))
        return code
    if verb == "is-active":
        code = 0
        for unit in units:
            active = pid_of(unit) is not None
            failed = (state_dir() / f"{unit}.failed").exists()
            if not quiet:
                print("active" if active else "failed" if failed else "inactive")
            code = code or (0 if active else 3)
        return code
    if verb == "is-enabled":
        code = 0
        for unit in units:
            on = unit in enabled()
            if not quiet:
                print("enabled" if on else "disabled")
            code = code or (0 if on else 1)
        return code
    print(f"systemctl stand-in: {verb} is not supported", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
