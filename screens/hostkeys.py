"""Read a machine's SSH host key fingerprint, so the operator can confirm it before it is pinned."""
from __future__ import annotations

from installer.preflight.hostkeys import HostKeyResult, read_host_key

__all__ = ["HostKeyResult", "fetch_fingerprint"]


def fetch_fingerprint(host: str, port: int = 22, timeout: float = 10.0) -> HostKeyResult:
    """Connect, finish the SSH key exchange, and return the server key's SHA256 fingerprint (no login)."""
    return read_host_key(host, port, timeout)
