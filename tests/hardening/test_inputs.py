"""Inputs that cannot hang or exhaust, names that cannot become paths, secret files others can read.

Everything runs through `python -m installer` as an operator would, each with a
hard timeout so a hang fails the test instead of the suite.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.answers.conftest import ROOT
from tests.wizard.helpers import openssh_private_key

EXAMPLE = (ROOT / "assets" / "examples" / "existing-cluster.yaml").read_text()
SSH_KEY = openssh_private_key()  # validate parses every private key the answers reference


def cli(*args: str, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    """The installer with 1 GB of address space, so reading /dev/zero fails the test fast instead of the machine."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "DIGIT_SSH_KEY": SSH_KEY, "DIGIT_GIT_SSH_KEY": SSH_KEY,
           "XDG_STATE_HOME": str(cwd / "xdg"), "DIGIT_INSTALLER_PROFILE_PATH": str(ROOT / "tests" / "fixtures" / "profiles")}
    return subprocess.run([sys.executable, "-m", "installer", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, preexec_fn=limit, stdin=subprocess.DEVNULL)


def site(tmp_path: Path, text: str = EXAMPLE) -> Path:
    """The example answers over the sample chart tree and its release profile (so nothing else warns)."""
    text = text.replace("version: digit-2.9-lts", "version: digit-sample").replace(
        "charts: charts", f"charts: {ROOT / 'tests' / 'fixtures' / 'charts'}")
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    os.chmod(tmp_path / "kubeconfig", 0o600)
    answers = tmp_path / "answers.yaml"
    answers.write_text(text)
    os.chmod(answers, 0o600)
    return answers


def assert_clean(proc: subprocess.CompletedProcess, code: int = 2) -> None:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("command", [["validate"], ["--answers"], ["preflight", "--answers"]])
def test_dev_zero_as_answers_file_is_refused_at_once(tmp_path, command):
    proc = cli(*command, "/dev/zero", cwd=tmp_path)
    assert_clean(proc)
    assert "/dev/zero:1:1: this is a device, not a regular file" in proc.stderr


@pytest.mark.parametrize("command", [["validate"], ["--answers"]])
def test_fifo_as_answers_file_does_not_hang(tmp_path, command):
    fifo = tmp_path / "answers.yaml"
    os.mkfifo(fifo)
    proc = cli(*command, str(fifo), cwd=tmp_path, timeout=20)
    assert_clean(proc)
    assert f"{fifo}:1:1: this is a FIFO, not a regular file" in proc.stderr


@pytest.mark.parametrize("command", [["validate"], ["--answers"], ["preflight", "--answers"]])
def test_symlink_loop_as_answers_file_exits_2_naming_it(tmp_path, command):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(tmp_path / "loop.yaml")
    proc = cli(*command, str(loop), cwd=tmp_path)
    assert_clean(proc)
    assert f"{loop}:1:1: a symlink loop" in proc.stderr


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "loop"])
@pytest.mark.parametrize("command", [["validate"], ["--answers"]])
def test_secret_file_that_is_not_a_regular_file_is_refused(tmp_path, kind, command):
    answers = site(tmp_path, EXAMPLE.replace("ssh_key: {env: DIGIT_GIT_SSH_KEY}", "ssh_key: {file: deploy_key}"))
    key = tmp_path / "deploy_key"
    if kind == "fifo":
        os.mkfifo(key)
    elif kind == "loop":
        key.symlink_to(key)
    else:
        key.symlink_to(kind)
    proc = cli(*command, str(answers), "--yes" if command == ["--answers"] else "--quiet", cwd=tmp_path, timeout=20)
    assert_clean(proc)
    what = {"fifo": "a FIFO", "loop": "a symlink loop", "/dev/zero": "a device"}[kind]
    assert f"{answers}:" in proc.stderr and "config_repos.ssh_key.file" in proc.stderr
    assert f"is {what}, not a regular file" in proc.stderr


@pytest.mark.parametrize("key,value", [("profile: dev", "profile: ../../../../tmp/x"),
                                       ("profile: dev", "profile: /etc/passwd"),
                                       ("version: digit-2.9-lts", "version: ../sizing/dev"),
                                       ("version: digit-2.9-lts", "version: /tmp/digit-x")])
def test_profile_names_only(tmp_path, key, value):
    answers = site(tmp_path, EXAMPLE.replace(key, value))
    proc = cli("validate", str(answers), cwd=tmp_path)
    assert_clean(proc)
    assert "is not a profile name" in proc.stderr
    field = "sizing.profile" if "profile" in key else "release.version"
    assert f"{field}:" in proc.stderr


def test_profile_loader_refuses_paths():
    from installer.profiles import ProfileError, release_profile, sizing_profile

    with pytest.raises(ProfileError, match="not a sizing profile name"):
        sizing_profile("../releases/digit-2.9-lts")
    with pytest.raises(ProfileError, match="not a release profile name"):
        release_profile("/tmp/x")


def test_version_true_is_not_version_1(tmp_path):
    answers = site(tmp_path, EXAMPLE.replace("version: 1\n", "version: true\n"))
    proc = cli("validate", str(answers), cwd=tmp_path)
    assert_clean(proc)
    assert f"{answers}:3:" in proc.stderr and "version must be the number 1" in proc.stderr


# ---------------------------------------------------------------- secrets others can read

def test_secret_file_readable_by_others_warns_and_strict_refuses(tmp_path):
    answers = site(tmp_path, EXAMPLE.replace("ssh_key: {env: DIGIT_GIT_SSH_KEY}", "ssh_key: {file: deploy_key}"))
    key = tmp_path / "deploy_key"
    key.write_text(SSH_KEY)  # a real key: validate parses it (and names the file, never its content)
    os.chmod(key, 0o644)
    proc = cli("validate", str(answers), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"warning: config_repos.ssh_key.file: {key} holds a secret and others can read it (mode 0644)" in proc.stderr
    strict = cli("validate", "--strict", str(answers), cwd=tmp_path)
    assert_clean(strict)
    assert "others can read it" in strict.stderr
    body = SSH_KEY.splitlines()[1]
    assert body not in proc.stdout + proc.stderr + strict.stdout + strict.stderr
    os.chmod(key, 0o600)
    assert cli("validate", "--strict", str(answers), cwd=tmp_path).returncode == 0


def test_answers_file_readable_by_others_warns(tmp_path):
    answers = site(tmp_path)
    os.chmod(answers, 0o644)
    proc = cli("validate", str(answers), cwd=tmp_path)
    assert proc.returncode == 0
    assert f"{answers}:1:1: warning: others can read this file (mode 0644)" in proc.stderr
    assert cli("validate", "--strict", str(answers), cwd=tmp_path).returncode == 2
