"""The adapters preflight stands on: every network call gives up on time, errors are sorted by cause."""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from installer.adapters import postgres
from installer.adapters.kube import KubeConfigError, api_client
from installer.adapters.ssh import HostKeyPolicy, SSHError, connect, load_private_key, scan_host_key
from tests.rig.rig import SSH_USER


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never says a word (a hung API server or sshd)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_kube_client_times_out_on_a_hung_server(silent_server, tmp_path) -> None:
    from kubernetes import client

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "hung",
        "clusters": [{"name": "hung", "cluster": {"server": f"http://127.0.0.1:{silent_server}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "hung", "context": {"cluster": "hung", "user": "u"}}],
    }))
    api = api_client(kubeconfig, timeout=1)
    started = time.monotonic()
    with pytest.raises(Exception):
        client.VersionApi(api).get_code()
    assert time.monotonic() - started < 6


def test_kube_client_reports_a_bad_kubeconfig(tmp_path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(KubeConfigError, match=str(missing)):
        api_client(missing)
    empty = tmp_path / "kc"
    empty.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}))
    with pytest.raises(KubeConfigError, match="nosuch"):
        api_client(empty, context="nosuch")


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


def test_postgres_errors_are_sorted_by_cause(rig) -> None:
    password = rig.env["DIGIT_DB_PASSWORD"]
    with pytest.raises(postgres.DatabaseError) as wrong:
        postgres.connect("127.0.0.1", rig.pg_port, "egov", "wrong", "postgres", "disable", timeout=5)
    assert wrong.value.kind == "auth" and "wrong" not in str(wrong.value)
    with pytest.raises(postgres.DatabaseError) as missing:
        postgres.connect("127.0.0.1", rig.pg_port, "egov", password, "no_such_db", "disable", timeout=5)
    assert missing.value.kind == "no-database"
    conn = postgres.connect("127.0.0.1", rig.pg_port, "egov", password, "postgres", "disable", timeout=5)
    with conn:
        assert conn.setting("statement_timeout") == "5s"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(postgres.DatabaseError) as refused:
        postgres.tcp_reachable("127.0.0.1", closed, timeout=2)
    assert refused.value.kind == "unreachable"
