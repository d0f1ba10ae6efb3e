"""The Helm side: no release records in ConfigMaps, a child process with only the environment it needs,
staging folders of killed runs cleaned, a dry run that predicts from the cluster's generated secrets."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from installer.adapters.helm import HelmSdkEngine
from installer.adapters.helm.client import OWNER_FILE, WORK_DIR_PREFIX, remove_stale_work_dirs

CANARY = "canary-env-secret-5e0c"


def test_configmap_release_storage_is_refused(rig, monkeypatch, tmp_path):
    from installer.answers import load_answers
    from installer.deploy.target import open_cluster
    from installer.engine import StepFailed

    monkeypatch.setenv("HELM_DRIVER", "configmap")
    ctx = SimpleNamespace(answers=load_answers(rig.answers_path), outputs={}, state_dir=tmp_path)
    with pytest.raises(StepFailed, match="HELM_DRIVER=configmap would keep every release record"):
        open_cluster(ctx)


def test_the_helm_child_gets_no_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("DIGIT_DB_PASSWORD", CANARY)
    monkeypatch.setenv("SOME_TOKEN", CANARY)
    with HelmSdkEngine() as engine:
        engine._call("ping", {})
        workers = [*engine._idle, *engine._busy]  # the engine's pool of Helm children
        assert workers
        environ = Path(f"/proc/{workers[0].process.pid}/environ").read_bytes().split(b"\0")
    names = {item.split(b"=", 1)[0].decode() for item in environ if item}
    assert CANARY.encode() not in b"\0".join(environ)
    assert "PATH" in names and "DIGIT_DB_PASSWORD" not in names and "SOME_TOKEN" not in names


def test_staging_folders_of_killed_runs_are_removed_at_start(tmp_path):
    root = Path(tempfile.gettempdir())
    dead = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stale = Path(tempfile.mkdtemp(prefix=WORK_DIR_PREFIX))
    (stale / OWNER_FILE).write_text(f"{dead.pid}\n")
    (stale / "charts").mkdir()
    os.kill(dead.pid, signal.SIGKILL)
    dead.wait()
    alive = Path(tempfile.mkdtemp(prefix=WORK_DIR_PREFIX))
    (alive / OWNER_FILE).write_text(f"{os.getpid()}\n")
    try:
        with HelmSdkEngine() as engine:
            assert not stale.exists()
            assert alive.exists() and engine._work_dir.exists()
            own = engine._work_dir
        assert not own.exists()
    finally:
        for path in (stale, alive):
            subprocess.run(["rm", "-rf", str(path)])
    assert root.exists()


def test_stale_folder_of_another_user_is_left_alone(tmp_path):
    other = tmp_path / f"{WORK_DIR_PREFIX}x"
    other.mkdir()
    os.chown(other, 65534, 65534)
    old = time.time() - 7200
    os.utime(other, (old, old))
    assert remove_stale_work_dirs(tmp_path) == [] and other.exists()
    mine = tmp_path / f"{WORK_DIR_PREFIX}y"
    mine.mkdir()
    os.utime(mine, (old, old))
    assert remove_stale_work_dirs(tmp_path) == [mine]


@pytest.mark.timeout(600)
def test_dry_run_from_a_state_dir_without_the_local_store_predicts_no_change(fresh_rig, tmp_path):
    """Installed from one jump host; a dry run from another (no local generated-secrets.json) reads the
    cluster's copy and predicts what a real run would do: nothing."""
    from tests.deploy.test_pipeline import Install

    rig = fresh_rig(nodes=1, rollout_delay=0.2)
    first = Install(rig, tmp_path / "first")
    code, _, output = first.run()
    assert code == 0, output
    other = Install(rig, tmp_path / "second")
    code, events, output = other.run("--dry-run")
    assert code == 0, output
    logs = " ".join(e.get("message", "") for e in events if e["event"] == "step.log")
    assert "would generate" not in logs, logs
    deploy = [e["message"] for e in events if e["event"] == "step.log" and e.get("step") == "deploy"]
    unchanged = [m for m in deploy if m.endswith("is unchanged")]
    assert len(unchanged) >= 5, deploy
    assert not [m for m in deploy if m.startswith("would ")], deploy
    assert not (tmp_path / "second" / "state" / "generated-secrets.json").exists()
