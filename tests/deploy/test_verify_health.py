"""Verify's probes: the health check against a real HTTPS server on loopback, and the capability probe
that decides whether the ingress address can be checked at all."""

from __future__ import annotations

import datetime
import http.server
import ssl
import threading

import pytest

from installer.deploy.verify import _health, ingress_check

FQDN = "uat.digit.example.gov.in"


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, FQDN)])
    now = datetime.datetime.now(datetime.UTC)
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
    assert ok.outcome == "pass" and ok.message == f"https://{FQDN}/user/health answered 200"
    down = _health("egov-filestore", FQDN, address, "/filestore/health", insecure=True)
    assert down.outcome == "fail" and "answered 503" in down.message
    assert seen_hosts == [FQDN, FQDN]


def test_untrusted_certificate_fails_unless_self_signed_mode(ingress) -> None:
    address, _ = ingress
    strict = _health("egov-user", FQDN, address, "/user/health", insecure=False)
    assert strict.outcome == "fail" and "self-signed certificate" in strict.message


def test_certificate_is_checked_against_the_digit_host_name_not_the_address(ingress, tmp_path) -> None:
    address, _ = ingress
    trusted = _health("egov-user", FQDN, address, "/user/health", insecure=False, cafile=str(tmp_path / "tls.crt"))
    assert trusted.outcome == "pass", trusted
    other = _health("egov-user", "other.example.gov.in", address, "/user/health", insecure=False,
                    cafile=str(tmp_path / "tls.crt"))
    assert other.outcome == "fail" and "mismatch" in other.message.lower()


def test_nothing_listening_fails_within_the_timeout() -> None:
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    result = _health("egov-user", FQDN, f"127.0.0.1:{port}", "/user/health", insecure=True)
    assert result.outcome == "fail" and time.monotonic() - started < 12


class ClusterObjects:
    """A stand-in for the KubeCluster adapter's list(): objects as the API returns them, nothing else."""

    def __init__(self, **kinds: list[dict]) -> None:
        self.kinds = kinds

    def list(self, kind: str, namespace: str | None = None, *, label_selector: str | None = None) -> list[dict]:
        return [o for o in self.kinds.get(kind, [])
                if namespace is None or (o.get("metadata") or {}).get("namespace") == namespace]


def _pod(name: str, ip: str | None) -> dict:
    return {"metadata": {"name": name, "namespace": "egov"}, "status": {"phase": "Running", **({"podIP": ip} if ip else {})}}


def test_the_ingress_check_is_skipped_with_its_reason_when_no_container_runs_on_a_network() -> None:
    cluster = ClusterObjects(Pod=[_pod("egov-user-0", None), _pod("egov-mdms-0", None)])
    check = ingress_check(cluster, ["egov"])
    assert check.outcome == "skip"
    assert "none of the 2 pods of the deployed releases has a pod IP" in check.message


def test_running_pods_without_an_ingress_address_fail_the_check() -> None:
    cluster = ClusterObjects(Pod=[_pod("egov-user-0", "10.42.0.7")],
                             Service=[{"metadata": {"name": "ingress-nginx", "namespace": "backbone"},
                                       "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}}])
    check = ingress_check(cluster, ["egov"])
    assert check.outcome == "fail" and "ingress-nginx" in check.remediation


def test_a_load_balancer_address_passes_and_is_what_the_health_checks_use() -> None:
    cluster = ClusterObjects(Service=[{"metadata": {"name": "ingress-nginx", "namespace": "backbone"},
                                       "spec": {"type": "LoadBalancer"},
                                       "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}}])
    check = ingress_check(cluster, ["egov"])
    assert check.outcome == "pass" and check.addresses == ("192.0.2.10",)
