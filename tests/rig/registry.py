"""Two real registries for the rig (Debian's docker-registry, the CNCF distribution registry 2.8).

- "upstream": plain HTTP on loopback, standing in for docker.io, quay.io, registry.k8s.io...:
  every image lives there as <host>/<path>:<tag> (docker.io/egovio/egov-user:v1...), built here
  from nothing (a layer tar naming the image, a config, a manifest; no pulls from the internet)
  and uploaded with the plain distribution API (monolithic POST + PUT, independent of the
  installer's own client). `bundle create --source-registry http://127.0.0.1:PORT` reads it.
- "mirror": the site's registry, HTTPS with a throwaway CA and htpasswd (bcrypt) authentication.

    upstream = start(DIR / "registries" / "upstream")
    mirror = start(DIR / "registries" / "mirror", tls=True, user="digit", password=...)
    fill(upstream, SAMPLE_IMAGES, large={"docker.io/egovio/playground:ubuntu-18-elasticdump": 96 << 20})
    stop(DIR / "registries" / "mirror")
"""
from __future__ import annotations

import datetime
import gzip
import hashlib
import http.client
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

BINARY = "/usr/bin/docker-registry"

# Every image the sample chart tree (tests/fixtures/charts) names with monitoring, tracing and
# Jenkins on, as the plan renders it without a mirror, plus the sample profile's extra_images.
SAMPLE_IMAGES = [
    "docker.elastic.co/elasticsearch/elasticsearch:8.11.3",
    "docker.io/bitnami/kafka:3.6.0",
    "docker.io/bitnami/redis:7.2.4",
    "docker.io/bitnami/postgresql:15.5.0",
    "docker.io/grafana/grafana:10.3.1",
    "docker.io/jaegertracing/all-in-one:1.53.0",
    "docker.io/jenkins/jenkins:2.440.1-jdk17",
    "quay.io/prometheus/prometheus:v2.49.1",
    "registry.k8s.io/git-sync/git-sync:v3.1.1",
    "registry.k8s.io/ingress-nginx/controller:v1.10.0",
    # the kept list: images no manifest names (profile extra_images)
    "docker.io/library/busybox:1.36",
    "docker.io/curlimages/curl:8.5.0",
    "quay.io/jetstack/cert-manager-acmesolver:v1.13.3",
    "docker.io/egovio/playground:ubuntu-18-elasticdump",
] + [f"docker.io/egovio/{name}" for name in (
    "egov-enc-service-db:v1.1.3-44558a0-3", "egov-enc-service:v1.1.3-44558a0-3",
    "egov-filestore-db:v1.3.0-72d8393-4", "egov-filestore:v1.3.0-72d8393-4",
    "egov-hrms-db:v1.2.6-116d8db-9", "egov-hrms:v1.2.6-116d8db-9",
    "egov-idgen-db:v1.2.3-44558a0-3", "egov-idgen:v1.2.3-44558a0-3",
    "egov-indexer:v1.1.7-44558a0-3",
    "egov-localization-db:v1.1.3-44558a0-3", "egov-localization:v1.1.3-44558a0-3",
    "egov-mdms-service:v1.3.2-44558a0-3", "egov-persister:v1.1.5-3371bc2-5",
    "egov-user-db:v1.2.8-9fde481-19", "egov-user:v1.2.8-9fde481-19",
    "egov-workflow-v2-db:v1.3.0-fbea797-11", "egov-workflow-v2:v1.3.0-fbea797-11",
    "gateway:v0.0.1-44558a0-3",
    "pgr-services-db:v1.1.7-d7d0e3c-8", "pgr-services:v1.1.7-d7d0e3c-8",
)]
LARGE_IMAGE = "docker.io/egovio/playground:ubuntu-18-elasticdump"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class RegistryRigError(Exception):
    pass


@dataclass
class RigRegistry:
    name: str
    dir: str
    port: int
    tls: bool
    user: str | None = None
    password: str | None = None
    ca_path: str | None = None
    pid: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}"

    @property
    def log_path(self) -> Path:
        return Path(self.dir) / "registry.log"

    @property
    def storage(self) -> Path:
        return Path(self.dir) / "data" / "docker" / "registry" / "v2"

    def connection(self) -> http.client.HTTPConnection:
        if not self.tls:
            return http.client.HTTPConnection(self.address, timeout=30)
        import ssl

        return http.client.HTTPSConnection(self.address, timeout=30,
                                           context=ssl.create_default_context(cafile=self.ca_path))

    def headers(self) -> dict[str, str]:
        if not self.user:
            return {}
        import base64

        return {"Authorization": "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        connection = self.connection()
        try:
            connection.request(method, path, body=body, headers={**self.headers(), **(headers or {})})
            response = connection.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            connection.close()

    def manifest_digest(self, repo: str, reference: str) -> str | None:
        status, headers, _ = self.request("HEAD", f"/v2/{repo}/manifests/{reference}", headers={
            "Accept": f"{OCI_MANIFEST}, application/vnd.oci.image.index.v1+json, "
                      "application/vnd.docker.distribution.manifest.v2+json"})
        return headers.get("docker-content-digest") if status == 200 else None

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def restart(folder: Path | str) -> RigRegistry:
    """Start a stopped registry again on its old port, with its data, TLS files and credentials."""
    previous = load(folder)
    if previous is None:
        raise RegistryRigError(f"no registry recorded in {folder}")
    return start(folder, tls=previous.tls, user=previous.user, password=previous.password, name=previous.name)


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import ipaddress

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "digit-rig registry CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "registry")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = folder / "ca.crt", folder / "server.crt", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


def start(folder: Path | str, *, tls: bool = False, user: str | None = None, password: str | None = None,
          name: str | None = None, token: dict | None = None) -> RigRegistry:
    """Start a registry keeping its data, config, log and pid in `folder`.

    `token`: token authentication instead ({realm, service, issuer, rootcertbundle}), as Docker Hub does.
    """
    folder = Path(folder).resolve()
    previous = load(folder)
    stop(folder)
    folder.mkdir(parents=True, exist_ok=True)
    port = previous.port if previous is not None and _port_free(previous.port) else _free_port()
    http_section: dict = {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)}
    registry = RigRegistry(name or folder.name, str(folder), port, tls, user, password)
    if tls:
        ca, cert, key = _certificates(folder / "tls")
        http_section["tls"] = {"certificate": str(cert), "key": str(key)}
        registry.ca_path = str(ca)
    config = {"version": 0.1, "log": {"level": "info", "accesslog": {"disabled": False}},
              "storage": {"filesystem": {"rootdirectory": str(folder / "data")}, "delete": {"enabled": True}},
              "http": http_section}
    if user:
        htpasswd = folder / "htpasswd"
        result = subprocess.run(["htpasswd", "-Bin", user], input=f"{password}\n", capture_output=True, text=True,
                                timeout=60)
        if result.returncode != 0:
            raise RegistryRigError(f"htpasswd failed: {result.stderr.strip()}")
        htpasswd.write_text(result.stdout)
        htpasswd.chmod(0o600)
        config["auth"] = {"htpasswd": {"realm": "digit-rig", "path": str(htpasswd)}}
    if token:
        config["auth"] = {"token": dict(token)}
    (folder / "config.yml").write_text(json.dumps(config))  # JSON is YAML
    with open(registry.log_path, "ab") as log:
        process = subprocess.Popen([BINARY, "serve", str(folder / "config.yml")], stdout=log, stderr=log,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    registry.pid = process.pid
    (folder / "registry.json").write_text(json.dumps(asdict(registry)))
    (folder / "registry.json").chmod(0o600)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RegistryRigError(f"the registry in {folder} did not start; see {registry.log_path}") from None
            time.sleep(0.05)
    return registry


def load(folder: Path | str) -> RigRegistry | None:
    try:
        return RigRegistry(**json.loads((Path(folder) / "registry.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def stop(folder: Path | str) -> None:
    """Stop the registry recorded in `folder` (only if its pid is still that registry)."""
    registry = load(folder)
    if registry is None or not registry.pid:
        return
    try:
        cmdline = Path(f"/proc/{registry.pid}/cmdline").read_bytes()
    except OSError:
        return
    if str(Path(folder).resolve() / "config.yml").encode() not in cmdline:
        return
    os.kill(registry.pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.waitpid(registry.pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not Path(f"/proc/{registry.pid}").exists() or b"docker-registry" not in _cmd(registry.pid):
            return
        time.sleep(0.05)
    os.kill(registry.pid, signal.SIGKILL)


def _cmd(pid: int) -> bytes:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return b"" if state == "Z" else Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# --- images built from nothing ---------------------------------------------------------------

def _layer(reference: str, extra_bytes: int = 0) -> bytes:
    """A gzipped tar with /etc/digit-rig-image naming the image (and random bytes for a large one)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("etc/digit-rig-image", f"{reference}\n".encode()),
                           *((("opt/payload.bin", os.urandom(extra_bytes)),) if extra_bytes else ())):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    if extra_bytes:  # random data does not compress; store it as a plain tar layer
        return buffer.getvalue()
    return gzip.compress(buffer.getvalue(), mtime=0)


def build_image(reference: str, extra_bytes: int = 0) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(manifest, [(media type, blob)]) of a one-layer image."""
    layer = _layer(reference, extra_bytes)
    layer_type = "application/vnd.oci.image.layer.v1.tar" + ("" if extra_bytes else "+gzip")
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Entrypoint": ["/bin/true"], "Labels": {"digit-rig.image": reference}},
                         "rootfs": {"type": "layers", "diff_ids": [
                             "sha256:" + hashlib.sha256(layer if extra_bytes else gzip.decompress(layer)).hexdigest()]}},
                        sort_keys=True).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
                           "layers": [{"mediaType": layer_type, "digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
                                       "size": len(layer)}]}, sort_keys=True).encode()
    return manifest, [("config", config), ("layer", layer)]


def upload(registry: RigRegistry, repo: str, tag: str, manifest: bytes, blobs: list[tuple[str, bytes]]) -> str:
    """Monolithic upload (POST, then PUT ?digest= with the whole blob), then the manifest by tag."""
    for _kind, blob in blobs:
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        status, _, _ = registry.request("HEAD", f"/v2/{repo}/blobs/{digest}")
        if status == 200:
            continue
        status, headers, body = registry.request("POST", f"/v2/{repo}/blobs/uploads/", b"", {"Content-Length": "0"})
        if status != 202:
            raise RegistryRigError(f"POST upload {repo}: {status} {body[:200]!r}")
        location = headers["location"]
        location = location.split("://", 1)[-1].split("/", 1)[-1]
        separator = "&" if "?" in location else "?"
        status, _, body = registry.request("PUT", f"/{location}{separator}digest={digest}", blob,
                                           {"Content-Type": "application/octet-stream",
                                            "Content-Length": str(len(blob))})
        if status != 201:
            raise RegistryRigError(f"PUT blob {repo}@{digest}: {status} {body[:200]!r}")
    status, headers, body = registry.request("PUT", f"/v2/{repo}/manifests/{tag}", manifest,
                                             {"Content-Type": OCI_MANIFEST})
    if status != 201:
        raise RegistryRigError(f"PUT manifest {repo}:{tag}: {status} {body[:200]!r}")
    return headers.get("docker-content-digest", "")


def fill(registry: RigRegistry, images: list[str], large: dict[str, int] | None = None) -> dict[str, str]:
    """Build and upload each image as <host>/<path>:<tag>; returns reference -> manifest digest."""
    large = large or {}
    digests = {}
    for reference in images:
        name, _, tag = reference.rpartition(":")
        manifest, blobs = build_image(reference, large.get(reference, 0))
        digests[reference] = upload(registry, name, tag, manifest, blobs)
    return digests


def start_pair(folder: Path | str, large_bytes: int = 96 << 20) -> tuple[RigRegistry, RigRegistry]:
    """The rig's upstream (filled with SAMPLE_IMAGES) and its TLS + htpasswd mirror (empty)."""
    folder = Path(folder)
    upstream = start(folder / "upstream")
    fill(upstream, SAMPLE_IMAGES, large={LARGE_IMAGE: large_bytes})
    mirror = start(folder / "mirror", tls=True, user="digit", password=secrets.token_urlsafe(18))
    return upstream, mirror


def stop_all(folder: Path | str) -> None:
    for sub in ("upstream", "mirror"):
        stop(Path(folder) / sub)


def clear(folder: Path | str) -> None:
    shutil.rmtree(folder, ignore_errors=True)
