"""SSH host keys for the VMs a cloud stack makes, made on the jump host so trust is there by construction.

A VM's own first boot would generate a host key nobody can vouch for, and accepting it on first sight
is exactly what a man in the middle waits for. Instead, before Terraform runs, the installer makes one
Ed25519 host key pair per VM (by the name the stack gives it) and passes them to the stack only through
its environment, as the sensitive variable `host_keys`; the stack hands each VM its pair in cloud-init's
`ssh_keys` (with the VM's own keys deleted and none generated). The public fingerprints are then pinned
for the SSH step (target.ssh.host_keys of the VMs), so the first connection already checks the key.

The pairs are kept in <state dir>/vm-host-keys.json (0600) and reused: a rerun passes the same keys, so
the VMs' user_data (and so the VMs) do not change.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from installer import redact
from installer.files import atomic_write, read_regular

STORE_NAME = "vm-host-keys.json"
STORE_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True)
class HostKey:
    name: str
    private_openssh: str  # the private half, OpenSSH format (what /etc/ssh/ssh_host_ed25519_key holds)
    public_openssh: str  # "ssh-ed25519 AAAA... <name>"

    @property
    def fingerprint(self) -> str:
        """OpenSSH's SHA256 fingerprint (what `ssh-keygen -lf` prints), the form target.ssh.host_keys pins."""
        blob = base64.b64decode(self.public_openssh.split()[1])
        return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def new_host_key(name: str) -> HostKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return HostKey(name, private, f"{public} {name}")


def vm_names(name: str, control_planes: int, workers: int) -> list[str]:
    """The VMs' names as the installer's openstack stack gives them (and a site's stack must, to get keys)."""
    return [f"{name}-cp-{i}" for i in range(control_planes)] + [f"{name}-worker-{i}" for i in range(workers)]


class HostKeyStore:
    """The install's VM host keys: made once per VM name, kept 0600, every private half registered as a secret."""

    def __init__(self, state_dir: Path, persist: bool = True) -> None:
        self.path = Path(state_dir) / STORE_NAME
        self.persist = persist

    def _load(self) -> dict[str, HostKey]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(read_regular(self.path, STORE_LIMIT))
            keys = {name: HostKey(name, entry["private"], entry["public"]) for name, entry in data["keys"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{self.path}: not a host key store the installer wrote ({type(exc).__name__}); "
                             "move it aside to make new keys (the VMs made with the old ones would be replaced)") from None
        self.path.chmod(0o600)
        return keys

    def known(self) -> dict[str, HostKey]:
        """The keys made so far (none made here): what the VMs were given."""
        keys = self._load()
        for key in keys.values():
            redact.register(key.private_openssh)
        return keys

    def ensure(self, names: list[str]) -> dict[str, HostKey]:
        """A key for every name (existing ones kept); only the names asked for are returned."""
        keys = self._load()
        missing = [name for name in names if name not in keys]
        for name in missing:
            keys[name] = new_host_key(name)
        for key in keys.values():
            redact.register(key.private_openssh)
        if missing and self.persist:
            atomic_write(self.path, json.dumps({"version": 1, "keys": {
                k.name: {"private": k.private_openssh, "public": k.public_openssh} for k in keys.values()}}), 0o600)
        return {name: keys[name] for name in names}


def stack_variable(keys: dict[str, HostKey]) -> dict[str, dict[str, str]]:
    """The stack's `host_keys` variable: VM name -> its pair (sensitive; reaches Terraform as TF_VAR_host_keys only)."""
    return {name: {"private_key": key.private_openssh, "public_key": key.public_openssh} for name, key in keys.items()}


def pinned(keys: dict[str, HostKey], addresses: dict[str, str]) -> dict[str, str]:
    """target.ssh.host_keys for the VMs: address -> fingerprint of the key the installer gave that VM."""
    return {addresses[name]: key.fingerprint for name, key in keys.items() if name in addresses}
