"""Line mode through a pseudo-terminal: scripted answers in, a valid answers file out."""
from __future__ import annotations

import os
import stat
import sys

import pexpect
import pytest

from installer.answers import load_answers
from tests.wizard.helpers import CHARTS, FQDN, ROOT, make_site, openssh_private_key

DOWN = "\x1b[B"
TYPED = openssh_private_key()
SUBMIT_MULTILINE = "\x1b\r"  # Esc then Enter ends a multi-line answer
pytestmark = pytest.mark.timeout(90)


def spawn(site, *args):
    env = {**os.environ, "TERM": "dumb", "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(site / "state")}
    child = pexpect.spawn(sys.executable, ["-m", "installer", "--plain", *args], cwd=str(site), env=env,
                          encoding="utf-8", timeout=20, dimensions=(24, 80))
    child.logfile_read = open(site / "transcript.txt", "w")
    return child


def answer(child, prompt: str, *keys: str) -> None:
    child.expect(prompt)
    for key in keys:
        child.send(key)
    child.send("\r")


def confirm(child, prompt: str, key: str) -> None:
    """Yes/no questions take the key alone, without Enter."""
    child.expect(prompt)
    child.send(key)


def test_line_mode_writes_a_valid_answers_file(tmp_path):
    site = make_site(tmp_path)
    child = spawn(site)
    answer(child, "Installation name", "Bad Name")
    child.expect("lower-case letters")
    child.sendcontrol("u")
    child.send("punjab-uat\r")
    answer(child, "Target")                                    # sdc-vms, the first kind
    answer(child, "Node name", "cp1")
    answer(child, "Host or IP address", "10.10.0.11")
    answer(child, "Role")                                      # control-plane
    answer(child, "SSH port")
    answer(child, "SSH user")
    confirm(child, "Add another node", "n")
    answer(child, "SSH user", "digit")
    answer(child, "SSH port")
    answer(child, "SSH private key: where", DOWN)              # a file
    answer(child, "File path", "keys/id_ed25519")
    confirm(child, "Read the nodes' SSH host keys", "n")
    answer(child, "known_hosts file")
    answer(child, "Connect timeout")
    answer(child, "Load balancer address")
    confirm(child, "Change Kubernetes", "n")
    answer(child, "Sizing profile", DOWN, DOWN, DOWN)          # dev, prod, quickstart, sdc-dev
    confirm(child, "Change Overrides", "n")
    confirm(child, "Allow undersized", "n")
    answer(child, r"Domain \(FQDN\)", FQDN)
    answer(child, "TLS", DOWN, DOWN)                           # self-signed
    answer(child, "Database", DOWN, DOWN)                      # in-cluster
    answer(child, "Database name")
    answer(child, "User")
    answer(child, "Password: where")                           # generated
    confirm(child, "Use registry mirror", "n")
    confirm(child, "Change Credentials", "n")
    answer(child, "Repository URL", "git@git.sdc.local:digit/egov-mdms-data.git")
    answer(child, "Branch", "uat")
    answer(child, "Repository URL", "git@git.sdc.local:digit/configs.git")
    answer(child, "Branch", "uat")
    answer(child, "Deploy key: where", DOWN, DOWN)              # type it now
    child.expect(r"Deploy key \(not shown\)")
    child.send(TYPED.splitlines()[0] + "\n" + SUBMIT_MULTILINE)        # only the first line, as a bad paste gives
    child.expect("cut short")
    child.expect(r"Deploy key \(not shown\)")
    child.send(TYPED)
    child.send(SUBMIT_MULTILINE)
    child.expect("mode 0600")
    answer(child, "known_hosts")
    answer(child, "Release profile", DOWN)                     # digit-sample: the sample tree's own profile
    answer(child, "Chart source directory", str(CHARTS))
    answer(child, "Air-gap bundle")
    answer(child, "Modules to deploy")
    confirm(child, "Change Monitoring", "n")
    confirm(child, "Change CI", "n")
    child.expect("== Review ==")
    answer(child, "Save the answers file to")
    child.expect("Saved (.*answers.yaml)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    transcript = child.before
    assert TYPED.splitlines()[2] not in transcript

    path = site / "answers.yaml"
    saved = load_answers(path)
    assert saved.name == "punjab-uat" and saved.target.kind == "sdc-vms"
    assert [(n.name, n.host, n.role) for n in saved.target.nodes] == [("cp1", "10.10.0.11", "control-plane")]
    assert saved.target.ssh.private_key.file == "keys/id_ed25519"
    assert saved.sizing.profile == "sdc-dev" and saved.domain.tls.mode == "self-signed"
    assert saved.database.mode == "in-cluster" and saved.release.charts == CHARTS
    assert "credentials" not in path.read_text() and "allow_undersized" not in path.read_text()
    assert TYPED.splitlines()[2] not in path.read_text()
    key_file = saved.config_repos.ssh_key.path(site)
    assert key_file.read_text() == TYPED and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_line_mode_checks_after_enter_offers_ssh_for_listed_machines_and_keeps_a_half_answered_page(tmp_path):
    site = make_site(tmp_path)
    child = spawn(site)
    answer(child, "Installation name", "Bad Name")
    child.expect("lower-case letters")
    answer(child, "Installation name", "half-page")            # asked afresh: nothing to erase first
    answer(child, "Target", DOWN)                              # existing-cluster
    answer(child, "kubeconfig file", "kubeconfig")
    answer(child, "Context")
    answer(child, "StorageClass")
    confirm(child, "Add a node", "y")
    answer(child, "Node name", "n1")
    answer(child, "Host or IP address", "10.10.0.31")
    answer(child, "Role")
    answer(child, "SSH port")
    answer(child, "SSH user")
    confirm(child, "Add another node", "n")
    child.expect(r"Use ssh access\? (\x1b\[[0-9;]*m)*\(Y/n\)")  # machines listed: SSH access is offered
    child.sendcontrol("c")
    confirm(child, "Save a draft", "y")
    child.expect("draft saved to")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    text = (site / "answers.yaml").read_text()
    assert "half-page" in text and "existing-cluster" in text and "10.10.0.31" in text, text
    transcript = (site / "transcript.txt").read_text()
    assert all(len(line) <= 80 for line in transcript.replace("\r", "\n").split("\n") if line.startswith("  (")), "help wraps"
    # what the line mode says of itself wraps at spaces too (the terminal would cut "d|raft")
    opening = [line for line in transcript.replace("\r", "\n").split("\n") if line.strip()][:3]
    assert opening[0].startswith("DIGIT installer — line mode.") and len(opening[0]) <= 80, opening
    assert opening[1].strip() == "draft).", opening


def test_line_mode_ctrl_c_keeps_a_draft(tmp_path):
    site = make_site(tmp_path)
    child = spawn(site)
    answer(child, "Installation name", "draft-one")
    child.expect("Target")
    child.sendcontrol("c")
    confirm(child, "Save a draft", "y")
    child.expect("draft saved to")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "draft-one" in (site / "answers.yaml").read_text()


def test_a_ctrl_c_while_the_answers_are_checked_still_offers_the_draft(tmp_path, monkeypatch):
    """Ctrl+C between questions (here: while the answers are validated before the review) is the operator's
    Ctrl+C all the same: what was answered is offered as a draft, not lost behind a bare 'interrupted'."""
    import io
    from types import SimpleNamespace

    from screens.plain import LineWizard
    from screens.state import Catalog, WizardState

    site = make_site(tmp_path)
    monkeypatch.chdir(site)
    state = WizardState(site / "answers.yaml", catalog=Catalog.load(site))
    state.put("name", "draft-two")

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(state, "problems", list)  # the answers fit: on to the review
    monkeypatch.setattr(state, "validate", interrupted)
    asked = []
    wizard = LineWizard(state, output=io.StringIO())
    wizard.q = SimpleNamespace(confirm=lambda text, **kw: asked.append(text) or SimpleNamespace(unsafe_ask=lambda: True))
    try:
        code = wizard.run([])
    except KeyboardInterrupt:
        pytest.fail("the Ctrl+C escaped line mode, and what was answered with it")
    assert code == 130
    assert asked == ["Save a draft of the answers so far?"]
    assert "draft saved to" in wizard.out.getvalue()
    assert "draft-two" in (site / "answers.yaml").read_text()


def test_a_dumb_terminal_gets_line_mode(tmp_path):
    site = make_site(tmp_path)
    env = {**os.environ, "TERM": "dumb", "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(site / "state")}
    child = pexpect.spawn(sys.executable, ["-m", "installer"], cwd=str(site), env=env, encoding="utf-8", timeout=20,
                          dimensions=(24, 80))
    child.expect("line mode")
    child.expect("Installation name")
    child.sendcontrol("c")
    confirm(child, "Save a draft", "n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130 and not (site / "answers.yaml").exists()
