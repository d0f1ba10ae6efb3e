"""The health probe verify uses on real clusters, against a real HTTPS server on loopback."""

from __future__ import annotations

import datetime
import http.server
import ssl
import threading

import pytest

from installer.deploy.verify import _health

FQDN = "uat.digit.example.gov.in"


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, FQDN)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(FQDN)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def ingress(tmp_path):
    """An HTTPS 'ingress' that routes by Host header like DIGIT's: /user/health is up, /filestore/health is down."""
    seen_hosts: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen_hosts.append(self.headers.get("Host", ""))
            up = self.headers.get("Host") == FQDN and self.path == "/user/health"
            self.send_response(200 if up else 503)
            self.end_headers()
            self.wfile.write(b'{"status": "UP"}' if up else b"down")

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", seen_hosts
    server.shutdown()


def test_health_endpoints_through_the_ingress_by_host_name(ingress) -> None:
    address, seen_hosts = ingress
    ok = _health("egov-user", FQDN, address, "/user/health", insecure=True)
    assert ok["outcome"] == "pass" and ok["message"] == f"https://{FQDN}/user/health answered 200"
    down = _health("egov-filestore", FQDN, address, "/filestore/health", insecure=True)
    assert down["outcome"] == "fail" and "answered 503" in down["message"]
    assert seen_hosts == [FQDN, FQDN]


def test_untrusted_certificate_fails_unless_self_signed_mode(ingress) -> None:
    address, _ = ingress
    strict = _health("egov-user", FQDN, address, "/user/health", insecure=False)
    assert strict["outcome"] == "fail" and "self-signed certificate" in strict["message"]


def test_certificate_is_checked_against_the_digit_host_name_not_the_address(ingress, tmp_path) -> None:
    address, _ = ingress
    trusted = _health("egov-user", FQDN, address, "/user/health", insecure=False, cafile=str(tmp_path / "tls.crt"))
    assert trusted["outcome"] == "pass", trusted
    other = _health("egov-user", "other.example.gov.in", address, "/user/health", insecure=False,
                    cafile=str(tmp_path / "tls.crt"))
    assert other["outcome"] == "fail" and "mismatch" in other["message"].lower()


def test_nothing_listening_fails_within_the_timeout() -> None:
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    result = _health("egov-user", FQDN, f"127.0.0.1:{port}", "/user/health", insecure=True)
    assert result["outcome"] == "fail" and time.monotonic() - started < 12
