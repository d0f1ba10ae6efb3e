"""Checks of a provided TLS certificate that the answers model cannot make: it exists and names the FQDN."""
from __future__ import annotations

import fnmatch
from pathlib import Path


def certificate_problems(cert_path: Path, fqdn: str) -> list[str]:
    """What is wrong with the certificate for this FQDN; empty when it fits."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        raw = Path(cert_path).read_bytes()
    except FileNotFoundError:
        return [f"{cert_path} does not exist"]
    except OSError as exc:
        return [f"{cert_path} cannot be read: {exc.strerror or exc}"]
    try:
        cert = x509.load_pem_x509_certificate(raw)
    except ValueError:
        return [f"{cert_path} is not a PEM certificate"]
    names: list[str] = []
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME) if isinstance(a.value, str)]
    fqdn = fqdn.lower().rstrip(".")
    if not any(_matches(name.lower(), fqdn) for name in names):
        return [f"the certificate is for {', '.join(names) or 'no name'}, not {fqdn}"]
    return []


def _matches(pattern: str, name: str) -> bool:
    if pattern.startswith("*."):
        return name.count(".") == pattern.count(".") and fnmatch.fnmatchcase(name, pattern)
    return pattern == name


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
