"""Hints name the command as the operator ran it: `./install.sh` only from its own folder."""
from __future__ import annotations

import subprocess
from pathlib import Path

from installer.app.closing import resume_command
from installer.invocation import SELF_ENV, install_sh

ROOT = Path(__file__).resolve().parents[2]


def test_run_from_elsewhere_the_hints_name_the_path_it_was_run_by(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(SELF_ENV, "/opt/digit installer/install.sh")
    assert install_sh() == "'/opt/digit installer/install.sh'"
    assert resume_command(Path("answers.yaml")) == "'/opt/digit installer/install.sh' --answers answers.yaml --resume"


def test_run_from_its_own_folder_or_not_through_install_sh_the_hint_is_dot_slash(tmp_path, monkeypatch):
    (tmp_path / "install.sh").write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(SELF_ENV, str(tmp_path / "install.sh"))
    assert install_sh() == "./install.sh"
    monkeypatch.delenv(SELF_ENV)
    assert install_sh() == "./install.sh"


def test_a_failed_run_started_from_another_folder_names_the_path_it_was_run_by(tmp_path):
    """The example's secrets come from variables this environment does not set: the validate step fails, and the
    resume command in the closing block is the relative path the operator typed, not ./install.sh."""
    import os
    import shutil

    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(ROOT / "assets" / "examples" / "existing-cluster.yaml", site / "answers.yaml")
    typed = os.path.relpath(ROOT / "install.sh", site)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    proc = subprocess.run([typed, "--answers", "answers.yaml", "--yes", "--output", "plain", "--state-dir",
                           str(tmp_path / "state")], cwd=site, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    resume = lines[lines.index("Then resume with:") + 1].strip()
    assert resume == f"{typed} --answers answers.yaml --state-dir {tmp_path / 'state'} --resume", resume
    assert f'export {SELF_ENV}="$0"' in (ROOT / "install.sh").read_text()
