"""The registry adapter against the real CNCF registry with token authentication (as Docker Hub and
quay.io answer): a 401 with a Bearer challenge, a token from the token service, the request again.

The token service is written here (a few lines over http.server): it checks Basic credentials and
signs an ES256 JWT with a throwaway certificate the registry trusts (auth.token.rootcertbundle).
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from installer.adapters.registry import Endpoint, HttpRegistry, RegistryError
from tests.rig import registry as rig_registry

SERVICE, ISSUER = "digit-rig-registry", "digit-rig-token-service"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenService:
    def __init__(self, folder: Path, user: str, password: str) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, ISSUER)])
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.bundle = folder / "token-root.crt"
        folder.mkdir(parents=True, exist_ok=True)
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self.user, self.password = user, password
        self.requests: list[str] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                service.requests.append(query.get("scope", [""])[0])
                expected = "Basic " + base64.b64encode(f"{service.user}:{service.password}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": service.token(query.get("scope", [""])[0])}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, scope: str) -> str:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        access = []
        if scope:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256",
                  "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]}
        claims = {"iss": ISSUER, "sub": self.user, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": secrets.token_hex(8), "access": access}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def token_registry(tmp_path):
    password = secrets.token_urlsafe(12)
    service = TokenService(tmp_path / "token", "digit", password)
    folder = tmp_path / "registry"
    registry = rig_registry.start(folder, token={"realm": service.url, "service": SERVICE, "issuer": ISSUER,
                                                 "rootcertbundle": str(service.bundle)})
    yield registry, service, password
    rig_registry.stop(folder)
    service.close()


def test_token_authentication_push_and_pull(token_registry):
    registry, service, password = token_registry
    client = HttpRegistry(Endpoint(registry.address, username="digit", password=password, plain_http=True))
    manifest, blobs = rig_registry.build_image("docker.io/egovio/egov-user:v1")
    for _kind, blob in blobs:
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        assert client.blob_size("egovio/egov-user", digest) is None
        client.upload_blob("egovio/egov-user", digest, len(blob), lambda offset, b=blob: io.BytesIO(b[offset:]))
        assert client.blob_size("egovio/egov-user", digest) == len(blob)
    digest = client.put_manifest("egovio/egov-user", "v1", "application/vnd.oci.image.manifest.v1+json", manifest)
    assert client.manifest_digest("egovio/egov-user", "v1") == digest
    _media, body, _digest = client.manifest("egovio/egov-user", "v1")
    assert body == manifest
    # a push token was asked for (the registry's challenge names the actions in its own order)
    assert any(r.startswith("repository:egovio/egov-user:") and set(r.rsplit(":", 1)[1].split(",")) == {"pull", "push"}
               for r in service.requests), service.requests

    anonymous = HttpRegistry(Endpoint(registry.address, plain_http=True))
    with pytest.raises(RegistryError) as refused:
        anonymous.manifest_digest("egovio/egov-user", "v1")
    assert refused.value.status == 401 and "authentication failed" in str(refused.value)
    wrong = HttpRegistry(Endpoint(registry.address, username="digit", password="not-it", plain_http=True))
    with pytest.raises(RegistryError):
        wrong.manifest_digest("egovio/egov-user", "v1")
