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
