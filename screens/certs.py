"""Checks of a provided TLS certificate that the answers model cannot make: it exists and names the FQDN."""
from __future__ import annotations

from pathlib import Path

from installer import tls


def certificate_problems(cert_path: Path, fqdn: str) -> list[str]:
    """What is wrong with the certificate for this FQDN; empty when it fits."""
    return tls.certificate_problems(cert_path, fqdn)


def key_file_problems(key_path: Path) -> list[str]:
    """A private key referenced by file must exist and be PEM; its content is never returned."""
    try:
        head = Path(key_path).read_bytes()[:64]
    except FileNotFoundError:
        return [f"{key_path} does not exist"]
    except OSError as exc:
        return [f"{key_path} cannot be read: {exc.strerror or exc}"]
    if b"-----BEGIN" not in head or b"PRIVATE KEY" not in head:
        return [f"{key_path} is not a PEM private key"]
    return []
