"""A machine's SSH host key as the operator confirms it before pinning (the wizard's "Test connection").

The fingerprint is computed by the SSH adapter, the same function that later checks the pinned
key, so what the operator confirms is exactly what the connection will compare. What is already
trusted for the machine (pinned, or in known_hosts) is looked up by the adapter's own policy too,
so a key the connection would refuse as changed is called changed here, in the same words in
both wizard faces.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from installer.adapters.ssh import HostKeyPolicy, SSHError, scan_host_key

CONSOLE_COMMAND = "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"


@dataclass(frozen=True)
class HostKeyResult:
    host: str
    port: int
    fingerprint: str = ""
    key_type: str = ""
    error: str = ""
    trusted: tuple[str, ...] = ()  # the fingerprints trusted for this machine before the scan
    trusted_by: str = ""  # "pinned" (target.ssh.host_keys) or "known_hosts"

    @property
    def changed(self) -> bool:
        """A key other than the trusted one: what a reinstalled machine, or a man-in-the-middle, presents."""
        return bool(self.fingerprint and self.trusted and not self.already_trusted)

    @property
    def already_trusted(self) -> bool:
        return bool(self.fingerprint) and any(t.rstrip("=") == self.fingerprint.rstrip("=") for t in self.trusted)


def read_host_key(host: str, port: int = 22, timeout: float = 10.0, pinned: dict[str, str] | None = None,
                  known_hosts: Path | None = None) -> HostKeyResult:
    """The server key's SHA256 fingerprint after the key exchange (no login), with what was trusted for the
    machine before (`pinned`: target.ssh.host_keys; `known_hosts`: its file); failures in `error`."""
    policy = HostKeyPolicy(pinned=dict(pinned or {}), known_hosts=known_hosts)
    try:
        trusted_by, trusted = policy.trusted_fingerprints(host, port)
    except SSHError:  # an unreadable known_hosts: the pinned keys were looked up first; the scan still says what is offered
        trusted_by, trusted = "", ()
    try:
        scanned = scan_host_key(host, port, timeout)
    except SSHError as exc:
        return HostKeyResult(host, port, error=str(exc), trusted=trusted, trusted_by=trusted_by)
    return HostKeyResult(host, port, scanned.fingerprint, scanned.key_type, trusted=trusted, trusted_by=trusted_by)


def changed_key_warning(result: HostKeyResult) -> str:
    """What the operator must read before pinning a changed key again: both fingerprints and what to check."""
    where = "pinned" if result.trusted_by == "pinned" else "in known_hosts"
    return (f"The key of {result.host} changed: {where} {', '.join(result.trusted)}, now offered {result.fingerprint}. "
            "This is what a man-in-the-middle looks like. Pin again only if the machine was reinstalled (or its host "
            f"keys made anew) and its console shows the new fingerprint: {CONSOLE_COMMAND}")
