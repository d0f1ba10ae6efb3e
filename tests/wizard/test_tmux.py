"""./install.sh from the first screen to a saved answers file, typed into a real terminal (tmux) as a person would."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

import pytest

from installer.answers import load_answers
from screens.questions import section_question
from tests.wizard.helpers import CHARTS, ROOT, SAMPLE_PROFILE, chart_skeleton, openssh_private_key

pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


class Terminal:
    def __init__(self, cwd, env: dict) -> None:
        self.socket = f"wizard-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        command = f"cd {cwd} && env {exports} {ROOT / 'install.sh'}; echo EXIT=$?; sleep 60"
        self.tmux("new-session", "-d", "-s", "wizard", "-x", "80", "-y", "24", command)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10, check=True).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "wizard")

    def wait(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                # a person reads the screen before the next key: let a new page take focus, a list close
                time.sleep(0.4 if text.startswith("Step ") else 0.2)
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        """Keys at a person's pace: Textual moves focus after a Tab asynchronously, so keys sent in one burst
        right after a Tab can still reach the field that had focus."""
        for key in keys:
            literal = len(key) > 1 and not key[0].isupper() and "-" not in key[:2]
            self.tmux("send-keys", "-t", "wizard", *(["-l", key] if literal else [key]))
            time.sleep(0.08)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "wizard", "-l", text)
        time.sleep(0.1)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def test_install_sh_wizard_to_a_saved_answers_file(tmp_path):
    (tmp_path / "profiles" / "releases").mkdir(parents=True)
    shutil.copyfile(SAMPLE_PROFILE, tmp_path / "profiles" / "releases" / SAMPLE_PROFILE.name)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "id").write_text(openssh_private_key())
    term = Terminal(tmp_path, {"TERM": "xterm-256color", "XDG_STATE_HOME": tmp_path / "state"})
    try:
        term.wait("How do you want to begin?")
        term.keys("C-n")
        term.wait("Step 1 of 8")
        term.type("e2e-demo")
        term.keys("Tab", "Tab")                              # past the target kind (sdc-vms)
        term.type("cp1")
        term.keys("Tab")
        term.type("10.0.0.1")
        term.keys("Tab", "Enter")
        term.wait("load-balancer")                           # the role list is open
        term.keys("Down", "Enter")
        term.wait("control-plane   ▼")
        term.keys("Tab", "Tab", "Tab", "Tab", "Tab")
        term.type("digit")                                   # SSH user
        term.wait("digit")
        term.keys("Tab", "Tab", "Enter")
        term.wait("type it now")
        term.keys("Down", "Down", "Enter")
        term.wait("file          ")
        term.keys("Tab")
        term.type("keys/id")                                 # private key from a file
        term.keys("C-n")
        term.wait("Step 2 of 8")
        term.keys("Enter")
        term.wait("quickstart\n")
        term.keys("Down", "Down", "Down", "Down", "Enter")
        term.wait("State data centre VMs")
        term.keys("C-n")
        term.wait("Step 3 of 8")
        term.type("e2e.digit.example.org")
        term.keys("Tab", "Enter")
        term.wait("self-signed: the installer")
        term.keys("Down", "Down", "Enter")
        term.wait("self-signed: the installer makes its own")
        term.keys("C-n")
        term.wait("Step 4 of 8")
        term.keys("Enter")
        term.wait("in-cluster: PostgreSQL")
        term.keys("Down", "Down", "Enter")
        term.wait("Database name")
        term.keys("C-n")
        term.wait("Step 5 of 8")
        term.keys(*["Tab"] * len(section_question("credentials").children))  # one choice per credential
        term.type("git@git.example.org:digit/mdms.git")
        term.wait("digit/mdms.git")
        term.keys("Tab")
        term.type("main")
        term.keys("Tab")
        term.type("git@git.example.org:digit/configs.git")
        term.keys("Tab")
        term.type("main")
        term.keys("Tab", "Enter")
        term.wait("type it now")
        term.keys("Down", "Down", "Enter")
        term.wait("file          ")
        term.keys("Tab")
        term.type("keys/id")
        term.keys("C-n")
        term.wait("Step 6 of 8")
        term.keys("Tab")
        term.type(str(CHARTS))
        term.keys("C-n")
        term.wait("chart(s) of release digit-2.9-lts missing")  # the default profile is not the sample tree's
        term.keys("BTab", "Enter")                           # back to the profile, its list open
        term.wait("digit-sample")
        term.keys("Down", "Enter")
        term.wait("digit-sample  ")
        term.keys("C-n")
        term.wait("Step 7 of 8")
        term.keys("C-n")
        term.wait("Step 8 of 8")
        term.wait("Save and start")
        term.keys("C-n")
        term.wait("Saved")
        term.keys("C-q")
        term.wait("EXIT=0")
    finally:
        term.close()
    path = tmp_path / "answers.yaml"
    answers = load_answers(path)
    assert answers.name == "e2e-demo" and answers.target.kind == "sdc-vms"
    assert answers.target.nodes[0].host == "10.0.0.1" and answers.target.ssh.private_key.file == "keys/id"
    assert answers.sizing.profile == "sdc-dev" and answers.domain.tls.mode == "self-signed"
    assert answers.database.mode == "in-cluster" and answers.release.charts == CHARTS
    assert answers.release.version == "digit-sample"
    assert answers.config_repos.ssh_key.file == "keys/id"
    result = subprocess.run([str(ROOT / "install.sh"), "validate", str(path)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr


def test_a_burst_of_keys_lands_in_the_right_fields(tmp_path):
    """Over a slow SSH link keys arrive together; text after a Tab must go to the next field."""
    term = Terminal(tmp_path, {"TERM": "xterm-256color", "XDG_STATE_HOME": tmp_path / "state"})
    try:
        term.wait("How do you want to begin?")
        term.keys("C-n")
        term.wait("Step 1 of 8")
        term.type("burst-demo\t\tcp1\t10.0.0.1")
        shown = term.wait("10.0.0.1")
        assert "burst-demo" in shown and "cp1          10.0.0.1" in shown, shown
    finally:
        term.close()


def test_a_deploy_key_pasted_into_the_terminal_is_saved_whole(tmp_path):
    """tmux's paste-buffer delivers the key as a bracketed paste, as a terminal does when an operator pastes."""
    shutil.copy(ROOT / "assets" / "examples" / "existing-cluster.yaml", tmp_path / "answers.yaml")
    chart_skeleton(tmp_path / "charts", "digit-2.9-lts")  # the example's chart folder, so only credentials is asked
    key = openssh_private_key()
    (tmp_path / "pasted").write_text(key)
    term = Terminal.__new__(Terminal)
    term.socket = f"wizard-{uuid.uuid4().hex[:8]}"
    command = (f"cd {tmp_path} && env TERM=xterm-256color XDG_STATE_HOME={tmp_path / 'state'} {ROOT / 'install.sh'} "
               "--answers answers.yaml --interactive --sections credentials; echo EXIT=$?; sleep 60")
    term.tmux("new-session", "-d", "-s", "wizard", "-x", "80", "-y", "24", command)
    try:
        term.wait("Step 1 of 2")
        term.keys("BTab", "BTab", "BTab", "BTab", "BTab", "BTab")  # back round to the deploy key's kind
        term.keys("Enter")
        term.wait("type it now")
        term.keys("Down", "Down", "Enter")
        term.wait("type it now (0600 file)     ▼")
        term.keys("Tab")
        term.tmux("load-buffer", str(tmp_path / "pasted"))
        term.tmux("paste-buffer", "-p", "-t", "wizard")
        shown = term.wait("7 lines")
        assert key.splitlines()[2] not in shown and "✗" not in shown, shown
        term.keys("C-n")
        term.wait("Step 2 of 2")
        term.keys("C-n")
        term.wait("Saved")
        term.keys("C-q")
        term.wait("EXIT=0")
    finally:
        term.close()
    answers = load_answers(tmp_path / "answers.yaml")
    assert answers.config_repos.ssh_key.path(tmp_path).read_text() == key
    assert key.splitlines()[2] not in (tmp_path / "answers.yaml").read_text()
