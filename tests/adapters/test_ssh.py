"""The SSH adapter never waits on a server without a limit.

paramiko waits for the reply to a channel request (exec, sftp) without any timeout. The server
here is a real SSH server (paramiko's server side, in a thread of the test) that authenticates the
client and then never answers those requests, as a wedged sshd would.
"""
from __future__ import annotations

import socket
import threading
import time

import paramiko
import pytest

from installer.adapters.ssh import HostKeyPolicy, SSHError, connect, fingerprint, load_private_key, scan_host_key
from tests.rig.rig import SSH_USER


class _Wedged(paramiko.ServerInterface):
    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.release.wait(30)
        return False

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        self.release.wait(30)
        return False


@pytest.fixture
def wedged_server():
    host_key = paramiko.ECDSAKey.generate()
    release = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(host_key)
            transports.append(transport)
            transport.start_server(server=_Wedged(release))

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1], fingerprint(host_key)
    release.set()
    for transport in transports:
        transport.close()
    listener.close()


def test_a_server_that_never_answers_a_request_is_given_up_on(wedged_server) -> None:
    port, host_fingerprint = wedged_server
    policy = HostKeyPolicy(pinned={f"127.0.0.1:{port}": host_fingerprint})
    with connect("127.0.0.1", port, "digit", paramiko.ECDSAKey.generate(), policy, timeout=6) as session:
        started = time.monotonic()
        with pytest.raises(SSHError, match=f"127.0.0.1:{port} did not accept the command within 1s"):
            session.run("true", timeout=1)
        assert time.monotonic() - started < 4
    # A fresh connection: the wedged server's first one answers nothing any more.
    with connect("127.0.0.1", port, "digit", paramiko.ECDSAKey.generate(), policy, timeout=6) as session:
        started = time.monotonic()
        with pytest.raises(SSHError, match="did not accept the SFTP subsystem within 6s"):
            session.put_private(b"canary", "/tmp/never-written")
        assert time.monotonic() - started < 9


def test_ssh_gives_up_on_a_silent_server(silent_server, rig) -> None:
    key = load_private_key(rig.ssh_key_path.read_text())
    started = time.monotonic()
    with pytest.raises(SSHError, match="no SSH handshake"):
        connect("127.0.0.1", silent_server, SSH_USER, key, HostKeyPolicy(), timeout=1)
    assert time.monotonic() - started < 5


def test_ssh_command_timeout_and_exit_status(rig) -> None:
    node = rig.nodes[0]
    key = load_private_key(rig.ssh_key_path.read_text())
    with connect(node.host, node.port, SSH_USER, key, HostKeyPolicy(pinned={node.host: node.host_key_fingerprint}),
                 timeout=5) as session:
        result = session.run("head -c 300000 /dev/zero | tr '\\0' x; echo; echo oops >&2; exit 7")
        assert result.exit_status == 7 and len(result.stdout) == 300001 and result.stderr == "oops\n"
        started = time.monotonic()
        with pytest.raises(SSHError, match="did not finish within 1s"):
            session.run("sleep 10", timeout=1)
        assert time.monotonic() - started < 4


def test_scanned_host_key_matches_ssh_keygen(rig) -> None:
    node = rig.nodes[1]
    scanned = scan_host_key(node.host, node.port, timeout=5)
    assert scanned.fingerprint == node.host_key_fingerprint and scanned.key_type.startswith(("ssh-", "ecdsa-"))


def test_host_key_scan_gives_up_on_a_silent_server(silent_server) -> None:
    started = time.monotonic()
    with pytest.raises(SSHError, match="SSH handshake failed"):
        scan_host_key("127.0.0.1", silent_server, timeout=1)
    assert time.monotonic() - started < 5
