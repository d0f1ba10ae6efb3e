"""A rig with registries, one bundle made from its upstream, and a runner for the installer's commands."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.rig import registry as rig_registry
from tests.rig.rig import Rig

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Runner:
    """Runs `install.sh` commands as the operator would, keeping every output for the canary test."""

    env: dict[str, str]
    outputs: list[str] = field(default_factory=list)

    def __call__(self, *args: str, timeout: float = 600, env: dict[str, str] | None = None
                 ) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "installer", *args], cwd=REPO, capture_output=True, text=True,
                                timeout=timeout, env={**self.env, **(env or {})})
        self.outputs += [result.stdout, result.stderr]
        return result

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "installer", *args], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env={**self.env, **(env or {})})


@pytest.fixture(scope="module")
def reg_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    rig = Rig.up(tmp_path_factory.mktemp("rig"), nodes=1, netns=False, rollout_delay=0.2, registry=True)
    yield rig
    rig.down(quiet=True)


@pytest.fixture(scope="module")
def runner(reg_rig: Rig, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGIT_", "XDG_STATE_HOME"))}
    env.update(reg_rig.env)
    env["PYTHONPATH"] = str(REPO)
    env["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    return Runner(env)


@pytest.fixture(scope="module")
def bundle(reg_rig: Rig, runner: Runner, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "b"
    upstream = reg_rig.registry("upstream")
    result = runner("bundle", "create", "--answers", str(reg_rig.answers_path), "--out", str(out),
                    "--source-registry", upstream.url, "--no-wheelhouse")
    assert result.returncode == 0, result.stderr + result.stdout
    return out


def copy_bundle(source: Path, target: Path) -> Path:
    """A copy sharing blob files by hard link: change files by replacing them, never in place."""
    subprocess.run(["cp", "-al", str(source), str(target)], check=True, timeout=60)
    return target


def answers_variant(rig: Rig, target: Path, name: str, *, bundle: Path | None = None,
                    mirror: rig_registry.RigRegistry | None = None) -> Path:
    """The rig's answers under another installation name, optionally from a bundle and/or another mirror."""
    lines = []
    for line in rig.answers_path.read_text().splitlines():
        if line.startswith("name: "):
            line = f"name: {name}"
        elif bundle is not None and line.startswith("  charts: "):
            line = f"  bundle: {bundle}"
        elif mirror is not None and line.startswith("  mirror: "):
            line = f"  mirror: {mirror.address}"
        elif mirror is not None and line.startswith("  ca_cert: "):
            line = f"  ca_cert: {mirror.ca_path}"
        lines.append(line)
    target.parent.mkdir(parents=True, exist_ok=True)
    for extra in ("kubeconfig", "keys", "ssh", "profiles", "registries"):
        if not (target.parent / extra).exists():
            (target.parent / extra).symlink_to(rig.dir / extra)
    target.write_text("\n".join(lines) + "\n")
    return target


def fresh_mirror(folder: Path, password: str) -> rig_registry.RigRegistry:
    return rig_registry.start(folder, tls=True, user="digit", password=password)


@pytest.fixture
def stop_registry() -> Iterator[list[Path]]:
    started: list[Path] = []
    yield started
    for folder in started:
        rig_registry.stop(folder)
    for folder in started:
        shutil.rmtree(folder, ignore_errors=True)
