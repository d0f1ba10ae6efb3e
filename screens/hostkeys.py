"""Read a machine's SSH host key fingerprint, so the operator can confirm it before it is pinned."""
from __future__ import annotations

import base64
import hashlib
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class HostKeyResult:
    host: str
    port: int
    fingerprint: str = ""
    key_type: str = ""
    error: str = ""


def fetch_fingerprint(host: str, port: int = 22, timeout: float = 10.0) -> HostKeyResult:
    """Connect, finish the SSH key exchange, and return the server key's SHA256 fingerprint (no login)."""
    import paramiko

    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        return HostKeyResult(host, port, error=f"cannot connect: {exc.strerror or exc}")
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
        return HostKeyResult(host, port, f"SHA256:{digest}", key.get_name())
    except (paramiko.SSHException, OSError, EOFError) as exc:
        return HostKeyResult(host, port, error=f"SSH handshake failed: {exc or type(exc).__name__}")
    finally:
        transport.close()
