"""A cloud install on the stand-in cloud: a rig (Kubernetes emulator + PostgreSQL), the stand-in provider in a
filesystem mirror, the test stack, and an answers file with target.kind aws pointing at them."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import pytest
import yaml

from tests.cloud.standin import build_mirror
from tests.rig.rig import Rig

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "tests" / "cloud" / "stack"
CANARY_AWS_SECRET = "CanaryAwsSecret-7f3e9b21c4d84a06"
CANARY_AWS_KEY_ID = "AKIACANARY9X2Q7Z"
CANARY_DB_PASSWORD = "CanaryDbPw-51b8e6a2d09c4f77"


@pytest.fixture(scope="session")
def standin_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_mirror(tmp_path_factory.mktemp("mirror"))


@pytest.fixture(scope="module")
def cloud_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    rig = Rig.up(tmp_path_factory.mktemp("cloudrig"), nodes=1, netns=False, rollout_delay=0.2)
    yield rig
    rig.down(quiet=True)


class CloudInstall:
    """One install on the stand-in cloud: its answers, state directory and cloud folder."""

    def __init__(self, rig: Rig, root: Path, mirror: Path, stack: Path = STACK, name: str | None = None) -> None:
        self.rig, self.root, self.mirror, self.stack = rig, root, mirror, stack
        self.state = root / "state"
        self.cloud = root / "cloud"
        self.cloud.mkdir(parents=True, exist_ok=True)
        # One install name per rig: DIGIT releases carry it, and a second name would be refused as a foreign install.
        self.name = name or "cloud-standin"
        self.answers_path = rig.dir / f"answers-{root.name}.yaml"
        self.settings({})
        self.write_answers()
        self.env = {**os.environ, **rig.env, "PYTHONPATH": str(REPO), "DIGIT_INSTALLER_READINESS_POLL": "0.2",
                    "TEST_AWS_ACCESS_KEY_ID": CANARY_AWS_KEY_ID, "TEST_AWS_SECRET_ACCESS_KEY": CANARY_AWS_SECRET,
                    "TEST_DB_PASSWORD": CANARY_DB_PASSWORD}
        self.env.pop("DIGIT_INSTALLER_TEST_KILL_AT", None)

    def settings(self, extra: dict[str, Any]) -> None:
        """The stand-in cloud's settings.json: the rig's API and PostgreSQL, plus failures and delays."""
        data = {"kubeconfig": str(self.rig.kubeconfig_path),
                "postgres": {"host": "127.0.0.1", "port": self.rig.pg_port, "admin_dsn": self.rig.pg_dsn_admin}}
        data.update(extra)
        path = self.cloud / "settings.json"
        path.write_text(json.dumps(data))
        os.chmod(path, 0o600)

    def write_answers(self, **terraform: Any) -> None:
        base = yaml.safe_load(self.rig.answers_path.read_text())
        base["name"] = self.name
        base["target"] = {
            "kind": "aws", "region": "ap-south-1",
            "credentials": {"access_key_id": {"env": "TEST_AWS_ACCESS_KEY_ID"},
                            "secret_access_key": {"env": "TEST_AWS_SECRET_ACCESS_KEY"}},
            "provider_mirror": str(self.mirror),
            "terraform": {"stack": str(self.stack), "variables": {"standin_dir": str(self.cloud)}, **terraform},
        }
        base["database"] = {"mode": "managed", "name": f"egov_{self.name.replace('-', '_')}",
                            "username": f"u_{self.name.replace('-', '_')}",
                            "password": {"env": "TEST_DB_PASSWORD"}, "sslmode": "disable"}
        base["sizing"] = {"profile": "dev"}
        self.answers_path.write_text(yaml.safe_dump(base, sort_keys=False))

    # --- running -----------------------------------------------------------------------------------
    def command(self, *extra: str, output: str = "json") -> list[str]:
        return [str(REPO / ".venv" / "bin" / "python"), "-m", "installer", "--answers", str(self.answers_path), "--yes",
                "--state-dir", str(self.state), "--output", output, *extra]

    def run(self, *extra: str, kill_at: str | None = None, timeout: float = 400,
            output: str = "json") -> subprocess.CompletedProcess:
        env = dict(self.env)
        if kill_at:
            env["DIGIT_INSTALLER_TEST_KILL_AT"] = kill_at
        return subprocess.run(self.command(*extra, output=output), cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=timeout)

    def start(self, *extra: str, output: str = "json") -> subprocess.Popen:
        return subprocess.Popen(self.command(*extra, output=output), cwd=REPO, env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    # --- what happened -----------------------------------------------------------------------------
    @staticmethod
    def events(stdout: str) -> list[dict[str, Any]]:
        found = []
        for line in stdout.splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    pass
        return found

    def journal(self) -> dict[str, Any]:
        return json.loads((self.state / "journal.json").read_text())

    def outputs(self, step: str) -> dict[str, Any]:
        steps = self.journal()["steps"]
        record = steps[step] if isinstance(steps, dict) else next(s for s in steps if s["id"] == step)
        return record["outputs"]

    def cloud_objects(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted((self.cloud / kind).glob("*.json"))]

    def cloud_journal(self) -> list[dict[str, Any]]:
        path = self.cloud / "journal.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def creates(self, kind: str) -> int:
        return sum(1 for e in self.cloud_journal() if e["event"] == "create.done" and e["kind"] == kind)

    def tfstate_addresses(self) -> list[str]:
        state = json.loads((self.state / "terraform" / "terraform.tfstate").read_text())
        found = []
        for resource in state.get("resources", []):
            for instance in resource.get("instances", []):
                key = instance.get("index_key")
                suffix = "" if key is None else (f"[{json.dumps(key)}]" if isinstance(key, str) else f"[{key}]")
                found.append(f"{resource['type']}.{resource['name']}{suffix}")
        return sorted(found)


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def terraform_pids(workdir: Path) -> list[int]:
    """Terraform processes running in `workdir` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if argv and argv[0].endswith(b"terraform") and cwd == str(workdir):
            found.append(int(entry.name))
    return found


def stop_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture
def cloud_install(cloud_rig: Rig, standin_mirror: Path, tmp_path: Path) -> Iterator[CloudInstall]:
    install = CloudInstall(cloud_rig, tmp_path, standin_mirror)
    yield install
    for pid in terraform_pids(install.state / "terraform" / "work"):
        stop_group(pid)
