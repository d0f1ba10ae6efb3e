"""Which names a TLS certificate covers, and whether it covers a host name (RFC 6125, section 6.4).

One owner for the wizard's certificate check and preflight's `domain.cert_name` check, so both
give the same answer. Matching follows RFC 6125 as browsers apply it (CA/Browser Forum rules):
- names compare case-insensitively, a trailing dot ignored;
- a wildcard is allowed only as the whole left-most label (`*.example.gov.in`), and stands for
  exactly one non-empty label: it covers `a.example.gov.in` but neither `example.gov.in` nor
  `a.b.example.gov.in`;
- partial wildcards (`a*.example.gov.in`), wildcards elsewhere than the left-most label and
  wildcards over fewer than two labels (`*.in`) cover nothing;
- subjectAltName DNS names are the certificate's names; only a certificate without them is
  read for its subject's common name (the fallback RFC 6125 keeps for old certificates).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


class CertificateError(Exception):
    """The certificate file cannot be read or is not a PEM certificate; the message names the file."""


def _normal(name: str) -> str:
    return name.strip().lower().rstrip(".")


def name_matches(pattern: str, host: str) -> bool:
    """Whether a certificate name (possibly a wildcard) covers `host`."""
    pattern, host = _normal(pattern), _normal(host)
    if not pattern or not host:
        return False
    if "*" not in pattern:
        return pattern == host
    first, _, rest = pattern.partition(".")
    if first != "*" or "*" in rest or rest.count(".") < 1:
        return False
    label, _, host_rest = host.partition(".")
    return bool(label) and host_rest == rest


def covers(names: list[str], host: str) -> bool:
    """Whether any of the certificate's names covers `host`."""
    return any(name_matches(name, host) for name in names)


def load_certificate(path: Path) -> Any:
    """The first PEM certificate in the file (a cryptography x509.Certificate); raises CertificateError."""
    from cryptography import x509

    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise CertificateError(f"{path} does not exist") from None
    except OSError as exc:
        raise CertificateError(f"{path} cannot be read: {exc.strerror or exc}") from None
    try:
        return x509.load_pem_x509_certificate(raw)
    except ValueError:
        raise CertificateError(f"{path} is not a PEM certificate") from None


def certificate_names(cert: Any) -> list[str]:
    """The DNS names of the subjectAltName, or (without one) the subject's common names."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return [str(name) for name in san.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        return [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME) if isinstance(a.value, str)]


def certificate_problems(cert_path: Path, fqdn: str) -> list[str]:
    """What is wrong with the certificate file for this FQDN; empty when it fits."""
    try:
        names = certificate_names(load_certificate(cert_path))
    except CertificateError as exc:
        return [str(exc)]
    if not covers(names, fqdn):
        return [f"the certificate is for {', '.join(names) or 'no name'}, not {_normal(fqdn)}"]
    return []
