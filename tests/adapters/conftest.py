"""Adapter tests talk to the real things: the Kubernetes emulator over HTTP, sshd, PostgreSQL, Helm."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.plan.conftest import kube_api  # noqa: F401  (the emulator in its own process)


@pytest.fixture
def silent_server() -> Iterator[int]:
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
