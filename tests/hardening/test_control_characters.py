"""Control characters from nodes never reach the operator's terminal raw; answers refuse them outright."""
from __future__ import annotations

import io

import pytest

from installer.engine import events as ev
from installer.engine.faces import PlainFace, RichFace
from installer.engine.logfile import RunLog
from tests.hardening.test_inputs import cli, site
from tests.preflight.helpers import run_cli, run_json

# Retitles the terminal (OSC 0), then moves up a line and erases it (CSI): a FAIL above would vanish.
HOSTILE = "Debian\x1b]0;pwned\x07 GNU/Linux\x1b[1A\x1b[2K\r12"


def test_node_escape_sequences_are_escaped_in_the_preflight_table(rig):
    os_release = rig.node_dir(rig.nodes[0]) / "os-release"
    saved = os_release.read_text()
    try:
        with open(os_release, "w") as handle:  # same inode: the node's bind mount sees it
            handle.write(f'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="{HOSTILE}"\n')
        code, out, err, _ = run_cli(rig, "--only", "node.os")
        assert "\x1b" not in out + err and "\x07" not in out + err and "\r" not in out + err
        assert "\\x1b]0;pwned\\x07" in out.replace("\n", "").replace("│", "").replace(" ", "")
        code, report, _, _ = run_json(rig, "--only", "node.os")
        measured = next(c["measured"] for c in report["checks"] if c["target"] == rig.nodes[0].name)
        assert measured.startswith("Debian\x1b]0;pwned")  # JSON keeps the value; json.dumps writes it as \u001b
    finally:
        with open(os_release, "w") as handle:
            handle.write(saved)


def test_plain_and_rich_faces_and_the_log_escape_controls(tmp_path):
    event = ev.StepLog("preflight", message=f"node.os n1: warn: {HOSTILE}", level="warning")
    plain = io.StringIO()
    PlainFace(plain)(event)
    assert "\x1b" not in plain.getvalue() and "\\x1b]0;pwned\\x07" in plain.getvalue()
    rich = io.StringIO()
    face = RichFace(rich, force_terminal=True)
    face(event)
    face.close()
    assert "pwned" in rich.getvalue() and "\x1b]0;pwned" not in rich.getvalue() and "\x07" not in rich.getvalue()
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    log = RunLog(state, "t1")
    log(event)
    log.close()
    text = log.path.read_text()
    assert "\x1b" not in text and "\\x1b[1A\\x1b[2K\\x0d12" in text


@pytest.mark.parametrize("old,new,key", [
    ("{name: n1,", '{name: "n1\\e]0;x\\a",', "target.nodes[0].name"),
    ("user: ubuntu", 'user: "ubuntu\\nroot"', "target.ssh.user"),
    ("fqdn: digit.demo.example.org", 'fqdn: "digit.demo.example.org\\r"', "domain.fqdn"),
])
def test_answers_refuse_control_characters(tmp_path, old, new, key):
    from tests.hardening.test_inputs import EXAMPLE

    assert old in EXAMPLE
    answers = site(tmp_path, EXAMPLE.replace(old, new))
    proc = cli("validate", str(answers), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"{key}: control characters are not allowed here" in proc.stderr
    assert "\x1b" not in proc.stderr
