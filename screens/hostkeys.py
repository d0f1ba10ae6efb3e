"""Read a machine's SSH host key fingerprint, so the operator can confirm it before it is pinned."""
from __future__ import annotations

from pathlib import Path

from installer.preflight.hostkeys import HostKeyResult, changed_key_warning, read_host_key

__all__ = ["HostKeyResult", "changed_key_warning", "fetch_fingerprint"]


def fetch_fingerprint(host: str, port: int = 22, timeout: float = 10.0, pinned: dict[str, str] | None = None,
                      known_hosts: Path | None = None) -> HostKeyResult:
    """Connect, finish the SSH key exchange, and return the server key's SHA256 fingerprint (no login), with
    what was trusted for the machine before (a changed key is told apart from a new one)."""
    return read_host_key(host, port, timeout, pinned, known_hosts)
