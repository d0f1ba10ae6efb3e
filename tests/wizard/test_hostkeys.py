"""Test connection reads each node's real SSH host key (a real sshd on loopback) and pins it on request."""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable

from screens.app import make_app
from screens.hostkeys import fetch_fingerprint
from screens.state import Catalog, WizardState
from tests.wizard.helpers import Driver, make_site

pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(not Path("/usr/sbin/sshd").exists(), reason="needs openssh-server")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sshd(tmp_path):
    """A real sshd on 127.0.0.1 with its own host key; yields (port, fingerprint as ssh-keygen prints it)."""
    key = tmp_path / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    port = _free_port()
    config = tmp_path / "sshd_config"
    config.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile {tmp_path / 'sshd.pid'}\n"
                      "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    process = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", str(config), "-E", str(tmp_path / "sshd.log")])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    listed = subprocess.run(["ssh-keygen", "-lf", f"{key}.pub"], capture_output=True, text=True, check=True, timeout=30)
    yield port, listed.stdout.split()[1]
    process.terminate()
    process.wait(timeout=10)


def test_fetch_fingerprint_matches_ssh_keygen(sshd):
    port, expected = sshd
    result = fetch_fingerprint("127.0.0.1", port, timeout=5)
    assert result.fingerprint == expected and result.key_type == "ssh-ed25519" and not result.error
    closed = fetch_fingerprint("127.0.0.1", _free_port(), timeout=2)
    assert closed.error.startswith("cannot connect") and not closed.fingerprint


@pytest.mark.asyncio
async def test_test_connection_shows_and_pins_host_keys(sshd, tmp_path):
    port, expected = sshd
    site = make_site(tmp_path / "site")
    state = WizardState(site / "answers.yaml", catalog=Catalog.load(site))
    state.draft.update(name="pin-test", target={
        "kind": "sdc-vms", "ssh": {"user": "digit", "port": port, "private_key": {"file": "keys/id_ed25519"}, "connect_timeout": 3},
        "nodes": [{"name": "cp1", "host": "127.0.0.1", "role": "control-plane"},
                  {"name": "gone", "host": "127.0.0.2", "port": _free_port(), "role": "worker"}]})
    app = make_app(state, pages=["target"])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        app.screen.query_one("#test-connection").focus()
        await pilot.press("enter")
        table = app.screen.query_one("#hostkeys", DataTable)
        await d.wait_for(lambda: table.row_count == 2, "both nodes scanned", timeout=20)
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(2)]
        assert cells[0] == ["127.0.0.1", str(port), expected]
        assert cells[1][2].startswith("✗ cannot connect")
        await pilot.pause(0.2)
        body = app.screen.query_one("#body")
        assert body.region.y <= table.region.y < body.region.bottom, "the results are scrolled into view"
        assert app.focused is app.screen.query_one("#pin-keys"), "Pin is the next thing to do"
        await pilot.press("enter")
        await pilot.pause()
        await d.next()
        assert d.screen.PAGE == "review", d.status()
    assert app.state.draft["target"]["ssh"]["host_keys"] == {"127.0.0.1": expected}


@pytest.mark.asyncio
async def test_the_whole_result_table_is_in_view_after_the_scan_at_80x24(sshd, tmp_path):
    """The last node's row sat one line below the page: the table is scrolled into view whole."""
    port, expected = sshd
    site = make_site(tmp_path / "site")
    state = WizardState(site / "answers.yaml", catalog=Catalog.load(site))
    state.draft.update(name="view-test", target={
        "kind": "sdc-vms", "ssh": {"user": "digit", "port": port, "private_key": {"file": "keys/id_ed25519"}, "connect_timeout": 3},
        "nodes": [{"name": "cp1", "host": "127.0.0.1", "role": "control-plane"},
                  {"name": "w1", "host": "localhost", "role": "worker"},
                  {"name": "gone", "host": "127.0.0.2", "port": _free_port(), "role": "worker"}]})
    app = make_app(state, pages=["target"])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        app.screen.query_one("#test-connection").focus()
        await pilot.press("enter")
        table = app.screen.query_one("#hostkeys", DataTable)
        await d.wait_for(lambda: table.row_count == 3, "the three nodes scanned", timeout=20)
        await pilot.pause(0.3)
        body = app.screen.query_one("#body")
        last_row_y = table.region.y + 1 + 2  # the header line, then rows 0, 1, 2
        assert table.region.height >= 4, "the header and three rows are drawn"
        assert body.region.y <= table.region.y and last_row_y < body.region.bottom, (
            f"the last row (line {last_row_y}) is outside the page body (lines {body.region.y}-{body.region.bottom - 1})")
        pin = app.screen.query_one("#pin-keys")
        assert body.region.contains_region(pin.region) and app.focused is pin
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert "pinned 2 host key(s)" in d.status(), "the pin is confirmed (the line was cleared at once)"
        assert body.region.contains_region(pin.region), "the pinned list grew above: the focused button is kept in view"
        assert table.region.bottom <= body.region.bottom


@pytest.mark.asyncio
async def test_a_changed_host_key_names_both_fingerprints_and_is_pinned_again_only_by_its_named_confirmation(sshd, tmp_path):
    """A node whose key differs from the pinned one was offered 'Pin these host keys' like a new node, without a word
    that its key had changed: the page names the pinned and the offered fingerprint and what to check, Pin keeps the
    pinned key, and only the named confirmation pins the new one."""
    from textual.widgets import Checkbox

    from tests.wizard.helpers import screen_text

    port, offered = sshd
    old = "SHA256:" + "A" * 43
    site = make_site(tmp_path / "site")
    state = WizardState(site / "answers.yaml", catalog=Catalog.load(site))
    state.draft.update(name="repin-test", target={
        "kind": "sdc-vms", "ssh": {"user": "digit", "port": port, "private_key": {"file": "keys/id_ed25519"},
                                   "connect_timeout": 3, "host_keys": {"127.0.0.1": old}},
        "nodes": [{"name": "cp1", "host": "127.0.0.1", "role": "control-plane"},
                  {"name": "w1", "host": "localhost", "role": "worker"}]})
    app = make_app(state, pages=["target"])
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        app.screen.query_one("#test-connection").focus()
        await pilot.press("enter")
        table = app.screen.query_one("#hostkeys", DataTable)
        await d.wait_for(lambda: table.row_count == 2, "both nodes scanned", timeout=20)
        await pilot.pause(0.3)
        warning = str(app.screen.query_one("#hostkeys-changed").render())
        assert f"The key of 127.0.0.1 changed: pinned {old}, now offered {offered}." in " ".join(warning.split()), warning
        assert "man-in-the-middle" in warning and "reinstalled" in warning and "ssh-keygen -lf" in warning
        assert "CHANGED" in d.status() and "127.0.0.1" in d.status()
        assert str(table.get_row_at(0)[2]) == "✗ CHANGED: see below"
        assert str(table.get_row_at(1)[2]) == offered, "a node new to this install is not called changed"
        shown = screen_text(app)
        for text in ("Pin these host keys", "CHANGED: see below", "changed: pinned", "ssh_host_ed25519_key.pub",
                     "Pin the new key of 127.0.0.1: reinstalled, checked on its console"):
            assert text in shown, f"{text!r} is not on the screen at 80x24:\n{shown}"
        # the default (Pin, focused for the new node's key) does not pin the changed key
        assert app.focused is app.screen.query_one("#pin-keys")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert "NOT pinned" in d.status()
        app.screen.store()
        assert app.state.draft["target"]["ssh"]["host_keys"] == {"127.0.0.1": old, "localhost": offered}
        box = app.screen.query_one("#confirm-repin", Checkbox)
        assert "127.0.0.1" in str(box.label) and "reinstalled" in str(box.label)
        box.value = True
        await pilot.click("#pin-keys")
        await pilot.pause(0.2)
        app.screen.store()
        assert app.state.draft["target"]["ssh"]["host_keys"] == {"127.0.0.1": offered, "localhost": offered}
        assert not app.screen.query_one("#hostkeys-changed").display, "pinned again: the warning has done its job"


def test_line_mode_says_the_same_of_a_changed_key_and_pins_it_only_when_the_host_is_typed(sshd, tmp_path):
    """Line mode asked 'presents … Is that right?' of a changed key as of a new one: it names both fingerprints
    and what to check, Enter keeps the pinned key, and only the host's name typed pins the new one."""
    import pexpect

    from installer.yamlio import load_yaml
    from tests.wizard.test_plain import answer, confirm, spawn

    port, offered = sshd
    old = "SHA256:" + "A" * 43
    site = make_site(tmp_path / "site")
    path = site / "answers.yaml"
    path.write_text(f"""version: 1
name: repin-line
target:
  kind: sdc-vms
  nodes:
    - {{name: cp1, host: 127.0.0.1, role: control-plane}}
  ssh: {{user: digit, port: {port}, connect_timeout: 3, private_key: {{file: keys/id_ed25519}},
        host_keys: {{127.0.0.1: "{old}"}}}}
  rke2: {{artifacts: {site}}}
""")
    for attempt, typed, kept in ((1, "", old), (2, "127.0.0.1", offered)):
        child = spawn(site, "--answers", str(path), "--interactive", "--sections", "target")
        # every other question of the page: its current answer
        for prompt in ("Installation name", "Target", r"Keep these 1\?", "SSH user", "SSH port", "where does it come from",
                       "File path"):
            answer(child, prompt)
        confirm(child, "Read the nodes' SSH host keys", "y")
        child.expect(r"To pin the new key of 127\.0\.0\.1, type 127\.0\.0\.1")
        said = " ".join(child.before.split())
        assert f"The key of 127.0.0.1 changed: pinned {old}, now offered {offered}." in said, said
        assert "man-in-the-middle" in said and "reinstalled" in said and "ssh-keygen -lf" in said
        child.send(typed + "\r")
        if not typed:
            child.expect("the trusted key of 127.0.0.1 is kept")
        for prompt in ("known_hosts file", "Connect timeout", "Load balancer address"):
            answer(child, prompt)
        confirm(child, r"Change Kubernetes \(RKE2\)\?", "n")
        child.expect("Sizing profile")
        child.sendcontrol("c")  # the later pages are not this test's: keep the draft
        child.expect("Save a draft")
        child.send("y")
        child.expect("draft saved to")
        child.expect(pexpect.EOF)
        data = load_yaml(path.read_text())
        assert data["target"]["ssh"]["host_keys"] == {"127.0.0.1": kept}, (attempt, path.read_text())
