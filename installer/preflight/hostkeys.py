"""A machine's SSH host key as the operator confirms it before pinning (the wizard's "Test connection").

The fingerprint is computed by the SSH adapter, the same function that later checks the pinned
key, so what the operator confirms is exactly what the connection will compare.
"""
from __future__ import annotations

from dataclasses import dataclass

from installer.adapters.ssh import SSHError, scan_host_key


@dataclass(frozen=True)
class HostKeyResult:
    host: str
    port: int
    fingerprint: str = ""
    key_type: str = ""
    error: str = ""


def read_host_key(host: str, port: int = 22, timeout: float = 10.0) -> HostKeyResult:
    """The server key's SHA256 fingerprint after the key exchange (no login); failures in `error`."""
    try:
        scanned = scan_host_key(host, port, timeout)
    except SSHError as exc:
        return HostKeyResult(host, port, error=str(exc))
    return HostKeyResult(host, port, scanned.fingerprint, scanned.key_type)
