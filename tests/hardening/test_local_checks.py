"""Checks on the jump host's side, where the mistake is made: a release profile the chart tree cannot serve,
secret files others can read, too little space for the state directory; and a run on a full disk ends cleanly.

The full-disk cases mount a small tmpfs as the state directory (the tests run as root).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.answers.conftest import ROOT
from tests.wizard.helpers import openssh_private_key
from tests.engine.test_headless import Site

SAMPLE_CHARTS = ROOT / "tests" / "fixtures" / "charts"
SAMPLE_PROFILES = ROOT / "tests" / "fixtures" / "profiles"
EXAMPLE = (ROOT / "assets" / "examples" / "existing-cluster.yaml").read_text()
SSH_KEY = openssh_private_key()  # validate parses every private key the answers reference


def answers_for(tmp_path: Path, version: str) -> Path:
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    os.chmod(tmp_path / "kubeconfig", 0o600)
    text = EXAMPLE.replace("version: digit-2.9-lts", f"version: {version}").replace("charts: charts", f"charts: {SAMPLE_CHARTS}")
    path = tmp_path / "answers.yaml"
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), "DIGIT_SSH_KEY": SSH_KEY, "DIGIT_GIT_SSH_KEY": SSH_KEY,
            "DIGIT_INSTALLER_PROFILE_PATH": str(SAMPLE_PROFILES), "XDG_STATE_HOME": str(cwd / "xdg"), **env}
    return subprocess.run([sys.executable, "-m", "installer", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def local_report(tmp_path: Path, answers: Path, *extra: str) -> dict[str, list[dict]]:
    proc = cli("preflight", "--answers", str(answers), "--only", "local", "--json", *extra, cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    found: dict[str, list[dict]] = {}
    for item in json.loads(proc.stdout)["checks"]:
        found.setdefault(item["id"], []).append(item)
    return found


# ---------------------------------------------------------------- the release profile against the chart tree

def test_validate_warns_when_the_chart_tree_lacks_the_profiles_charts(tmp_path):
    answers = answers_for(tmp_path, "digit-2.9-lts")
    proc = cli("validate", str(answers), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"{answers}:28:3: warning: release.charts: " in proc.stderr
    assert "chart(s) of release digit-2.9-lts missing in" in proc.stderr
    assert "backbone-services/cert-manager" in proc.stderr  # chart paths in the tree, what the operator looks for
    strict = cli("validate", "--strict", str(answers), cwd=tmp_path)
    assert strict.returncode == 2 and "release.charts" in strict.stderr


def test_validate_is_quiet_when_the_tree_matches(tmp_path):
    answers = answers_for(tmp_path, "digit-sample")
    proc = cli("validate", "--strict", str(answers), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "release.charts" not in proc.stderr


def test_preflight_fails_release_charts_before_anything_runs(tmp_path):
    report = local_report(tmp_path, answers_for(tmp_path, "digit-2.9-lts"))
    [result] = report["release.charts"]
    assert result["status"] == "fail" and "missing in" in result["measured"]
    [matching] = local_report(tmp_path, answers_for(tmp_path, "digit-sample"))["release.charts"]
    assert matching["status"] == "pass"


def test_one_function_for_the_wizard():
    from installer.answers import load_answers
    from installer.plan.graph import release_tree_problem

    answers = load_answers(ROOT / "assets" / "examples" / "existing-cluster.yaml")
    assert "is not a folder" in release_tree_problem(answers)


# ---------------------------------------------------------------- secret files others can read

def test_preflight_warns_about_secret_files_others_can_read(tmp_path):
    answers = answers_for(tmp_path, "digit-sample")
    answers.write_text(answers.read_text().replace("ssh_key: {env: DIGIT_GIT_SSH_KEY}", "ssh_key: {file: deploy_key}"))
    key = tmp_path / "deploy_key"
    key.write_text("canary-deploy-key-77aa\n")
    os.chmod(key, 0o644)
    report = local_report(tmp_path, answers)
    [result] = report["local.secret_files"]
    assert result["status"] == "warn" and result["target"] == "config_repos.ssh_key.file"
    assert "others can read" in result["message"] and "canary-deploy-key-77aa" not in json.dumps(report)
    os.chmod(key, 0o600)
    assert [r["status"] for r in local_report(tmp_path, answers)["local.secret_files"]] == ["pass"]


# ---------------------------------------------------------------- a full disk under the state directory

@pytest.fixture
def small_fs(tmp_path):
    """A 64 KiB tmpfs, mounted for the test only."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_preflight_checks_free_space_for_the_state_directory(tmp_path, small_fs):
    answers = answers_for(tmp_path, "digit-sample")
    [result] = local_report(tmp_path, answers, "--state-dir", str(small_fs / "state"))["local.state_disk"]
    assert result["status"] == "fail" and result["target"] == str(small_fs / "state")
    assert result["required"] == ">= 100 MB free"
    [roomy] = local_report(tmp_path, answers, "--state-dir", str(tmp_path / "state"))["local.state_disk"]
    assert roomy["status"] == "pass"


@pytest.mark.parametrize("filler_kib", [60, 56, 52, 48, 44])
def test_full_disk_ends_the_run_cleanly_and_resume_completes(tmp_path, small_fs, filler_kib):
    site = Site(tmp_path / "site")
    site.state = small_fs / "state"
    filler = small_fs / "filler"
    filler.write_bytes(b"x" * (filler_kib * 1024))
    proc = site.run()
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    for noise in ("Traceback", "Logging error", "internal error"):
        assert noise not in proc.stderr + proc.stdout
    if proc.returncode == 1:
        assert f"no space left on the filesystem of the state directory {site.state}" in proc.stderr
        assert "a run needs at least 100 MB" in proc.stderr
        filler.unlink()
        again = site.run("--resume")
        assert again.returncode == 0, again.stdout + again.stderr
