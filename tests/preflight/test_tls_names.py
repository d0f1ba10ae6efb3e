"""Which host names a certificate covers (RFC 6125 6.4): one answer for the wizard and preflight."""
from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from installer import tls


@pytest.mark.parametrize(("pattern", "host", "covered"), [
    ("*.example.gov.in", "a.example.gov.in", True),
    ("*.example.gov.in", "A.Example.Gov.In.", True),           # case and a trailing dot do not matter
    ("*.example.gov.in", "a.b.example.gov.in", False),         # a wildcard stands for exactly one label
    ("*.example.gov.in", "example.gov.in", False),             # ... and never for none
    ("*.example.gov.in", ".example.gov.in", False),            # an empty label is not a label
    ("*.example.gov.in", "a.example.gov.in.evil.org", False),
    ("uat.example.gov.in", "uat.example.gov.in", True),
    ("uat.example.gov.in", "a.uat.example.gov.in", False),
    ("a*.example.gov.in", "ab.example.gov.in", False),         # partial wildcards cover nothing
    ("a.*.gov.in", "a.example.gov.in", False),                 # only the left-most label may be a wildcard
    ("*.in", "gov.in", False),                                 # a wildcard over a single label covers nothing
    ("*.*.gov.in", "a.b.gov.in", False),
    ("", "a.example.gov.in", False),
])
def test_name_matching(pattern: str, host: str, covered: bool) -> None:
    assert tls.name_matches(pattern, host) is covered


def _certificate(tmp_path: Path, names: list[str] | None, common_name: str = "cn.example.gov.in") -> Path:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now)
               .not_valid_after(now + datetime.timedelta(days=30)))
    if names is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    path = tmp_path / "tls.crt"
    path.write_bytes(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return path


def test_alt_names_are_the_names_and_the_common_name_only_a_fallback(tmp_path: Path) -> None:
    with_san = _certificate(tmp_path, ["*.example.gov.in", "example.gov.in"])
    assert tls.certificate_names(tls.load_certificate(with_san)) == ["*.example.gov.in", "example.gov.in"]
    assert tls.certificate_problems(with_san, "uat.example.gov.in") == []
    assert tls.certificate_problems(with_san, "a.uat.example.gov.in") == [
        "the certificate is for *.example.gov.in, example.gov.in, not a.uat.example.gov.in"]
    without_san = _certificate(tmp_path, None, common_name="uat.example.gov.in")
    assert tls.certificate_names(tls.load_certificate(without_san)) == ["uat.example.gov.in"]


def test_unreadable_certificates_are_named(tmp_path: Path) -> None:
    assert tls.certificate_problems(tmp_path / "nope.crt", "a.example.gov.in") == [f"{tmp_path / 'nope.crt'} does not exist"]
    junk = tmp_path / "junk.crt"
    junk.write_text("not a certificate")
    assert tls.certificate_problems(junk, "a.example.gov.in") == [f"{junk} is not a PEM certificate"]
