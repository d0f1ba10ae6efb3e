"""Stand-in for RKE2's `rke2` binary on a rig node (see the package docstring for the contract it keeps).

    rke2 --version | rke2 server | rke2 agent

Reads /etc/rancher/rke2/config.yaml like RKE2. A server without `server:` initialises a cluster: its
token files (0600, `K10<sha256 of the CA>::server:<secret>`), a CA and a serving certificate naming
127.0.0.1, the node's address, its hostname and every `tls-san`, /etc/rancher/rke2/rke2.yaml (0600,
server https://127.0.0.1:6443), the rig's Kubernetes emulator on 0.0.0.0:6443 (kept across restarts,
as etcd's data is), and the supervisor on 0.0.0.0:9345. A second node initialising a cluster in the
same rig is recorded as `split-brain`. Joining nodes (`server: https://ADDRESS:9345`) present their
token and critical settings to the supervisor; a refusal ends the process with an error, as RKE2 does.
"""
from __future__ import annotations

import datetime
import hashlib
import http.server
import ipaddress
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.rig.standin.common import record, rig_dir, standin_dir, this_node, write_private

VERSION = "v1.29.4+rke2r1"
CONFIG = Path("/etc/rancher/rke2/config.yaml")
KUBECONFIG = Path("/etc/rancher/rke2/rke2.yaml")
SERVER_DIR = Path("/var/lib/rancher/rke2/server")
AGENT_DIR = Path("/var/lib/rancher/rke2/agent")
TLS_DIR = SERVER_DIR / "tls"
DB_DIR = SERVER_DIR / "db"
API_PORT, SUPERVISOR_PORT = 6443, 9345
CRITICAL = ("cluster-cidr", "service-cidr", "cluster-dns", "cluster-domain", "cni", "disable-kube-proxy")
JOIN_TIMEOUT = 60.0


def load_config() -> dict[str, Any]:
    if not CONFIG.exists():
        return {}
    data = yaml.safe_load(CONFIG.read_text()) or {}
    if not isinstance(data, dict):
        raise SystemExit(f"{CONFIG}: not a mapping")
    return data


def notify_ready() -> None:
    path = os.environ.get("RIG_NOTIFY_FILE")
    if path:
        Path(path).write_text("READY=1\n")


def critical(config: dict[str, Any]) -> dict[str, Any]:
    return {key: config.get(key) for key in CRITICAL}


def node_name(config: dict[str, Any]) -> str:
    return str(config.get("node-name") or socket.gethostname())


# --- certificates ---------------------------------------------------------------------------------
def ensure_certificates(config: dict[str, Any], node: dict[str, Any]) -> tuple[Path, Path, Path]:
    """A CA (kept) and a serving certificate re-issued on every start for the current tls-san."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    TLS_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(TLS_DIR, 0o700)
    ca_crt, ca_key = TLS_DIR / "server-ca.crt", TLS_DIR / "server-ca.key"
    now = datetime.datetime.now(datetime.UTC)
    if not ca_crt.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"rke2-server-ca@{int(time.time())}")])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        write_private(ca_key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()).decode())
        ca_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca = x509.load_pem_x509_certificate(ca_crt.read_bytes())
    ca_private = serialization.load_pem_private_key(ca_key.read_bytes(), None)
    sans: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName("kubernetes"),
                                    x509.DNSName(socket.gethostname()), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    extra = config.get("tls-san") or []
    for entry in [node["host"], *([extra] if isinstance(extra, str) else extra)]:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(str(entry))))
        except ValueError:
            sans.append(x509.DNSName(str(entry)))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(ca_private, hashes.SHA256()))
    serving_crt, serving_key = TLS_DIR / "serving-kube-apiserver.crt", TLS_DIR / "serving-kube-apiserver.key"
    write_private(serving_key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()).decode())
    serving_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return ca_crt, serving_crt, serving_key


def ca_hash(ca_pem: bytes) -> str:
    return hashlib.sha256(ca_pem).hexdigest()


def token_secret(token: str) -> str:
    """The shared secret of a token in either form: `K10<hash>::server:<secret>` or `<secret>`."""
    if token.startswith("K10") and "::" in token:
        return token.split("::", 1)[1].split(":", 1)[-1]
    return token


# --- the emulator (this cluster's API and datastore) ----------------------------------------------
def emulator_alive() -> bool:
    try:
        pid = int((DB_DIR / "emulator.pid").read_text())
        return "kube_emulator" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return False


def start_emulator(serving_crt: Path, serving_key: Path) -> None:
    if emulator_alive():
        return
    DB_DIR.mkdir(parents=True, exist_ok=True)
    seed = DB_DIR / "seed.json"
    seed.write_text(json.dumps([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                                for ns in ("default", "kube-system", "kube-public", "kube-node-lease")]))
    port_file = DB_DIR / "emulator.port"
    port_file.unlink(missing_ok=True)
    log = open(DB_DIR / "emulator.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.rig.kube_emulator", "--dir", str(rig_dir()), "--seed", str(seed),
         "--host", "0.0.0.0", "--port", str(API_PORT), "--port-file", str(port_file),
         "--tls-cert", str(serving_crt), "--tls-key", str(serving_key)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=dict(os.environ))
    (DB_DIR / "emulator.pid").write_text(str(process.pid))
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the API emulator did not start; see /var/lib/rancher/rke2/server/db/emulator.log")
        time.sleep(0.05)


def api_call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    context = ssl.create_default_context(cafile=str(TLS_DIR / "server-ca.crt"))
    request = urllib.request.Request(f"https://127.0.0.1:{API_PORT}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def node_object(name: str, role: str, node: dict[str, Any], taints: list[str]) -> dict[str, Any]:
    facts = node["facts"]
    mem_ki = int(float(facts["memory_gb"]) * 1024 * 1024)
    capacity = {"cpu": str(facts["cpus"]), "memory": f"{mem_ki}Ki", "pods": "110",
                "ephemeral-storage": f"{int(float(facts['disk_gb']) * 1000 ** 3 / 1024)}Ki"}
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "node.kubernetes.io/instance-type": "rke2"}
    if role == "server":
        labels.update({"node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/etcd": "true",
                       "node-role.kubernetes.io/master": "true"})
    spec_taints = []
    for taint in taints:
        key_value, _, effect = taint.partition(":")
        key, _, value = key_value.partition("=")
        spec_taints.append({"key": key, "value": value, "effect": effect})
    return {
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
        "spec": {"taints": spec_taints} if spec_taints else {},
        "status": {
            "capacity": capacity, "allocatable": {**capacity, "memory": f"{mem_ki - 256 * 1024}Ki"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status (rig stand-in)"}],
            "addresses": [{"type": "InternalIP", "address": node["host"]}, {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": VERSION, "kubeProxyVersion": VERSION, "architecture": "amd64",
                         "operatingSystem": "linux", "osImage": "rig node", "machineID": node["machine_id"],
                         "containerRuntimeVersion": "containerd://1.7.11-k3s2", "kernelVersion": os.uname().release,
                         "bootID": node["machine_id"], "systemUUID": node["machine_id"]},
        },
    }


def register_node(obj: dict[str, Any]) -> bool:
    """Create the Node; False when one of that name is registered already."""
    status, _ = api_call("GET", f"/api/v1/nodes/{obj['metadata']['name']}")
    if status == 200:
        return False
    status, _ = api_call("POST", "/api/v1/nodes", obj)
    if status >= 300:
        raise RuntimeError(f"registering node {obj['metadata']['name']}: HTTP {status}")
    return True


# --- the supervisor (port 9345) -------------------------------------------------------------------
class Supervisor(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, secret: str, ca_pem: bytes, settings: dict[str, Any], node_token: str) -> None:
        super().__init__(("0.0.0.0", SUPERVISOR_PORT), SupervisorHandler)
        self.secret, self.ca_pem, self.settings, self.node_token = secret, ca_pem, settings, node_token


class SupervisorHandler(http.server.BaseHTTPRequestHandler):
    server: Supervisor

    def log_message(self, format: str, *args: Any) -> None:  # keep tokens out of logs: say nothing
        return

    def _reply(self, status: int, body: dict | bytes) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/cacerts":
            self._reply(200, self.server.ca_pem)
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/v1-rke2/join":
            self._reply(404, {"error": "not found"})
            return
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        name, role = str(request.get("name")), str(request.get("role"))
        presented = str(request.get("token") or "")
        if not secrets.compare_digest(token_secret(presented), self.server.secret) or (
                presented.startswith("K10") and not presented.startswith(f"K10{ca_hash(self.server.ca_pem)}::")):
            record("supervisor", "join-refused", name=name, role=role, reason="token")
            self._reply(401, {"error": "Node password rejected, or token is incorrect"})
            return
        if role == "server" and request.get("critical") != self.server.settings:
            record("supervisor", "join-refused", name=name, role=role, reason="critical configuration mismatch",
                   theirs=request.get("critical"), ours=self.server.settings)
            self._reply(400, {"error": "critical configuration value mismatch"})
            return
        created = register_node(node_object(name, role, request["node"], list(request.get("taints") or [])))
        record("supervisor", "join", name=name, role=role, new_node=created)
        self._reply(200, {"node_token": self.server.node_token})


def serve_supervisor(supervisor: Supervisor, cert: Path, key: Path) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    supervisor.socket = context.wrap_socket(supervisor.socket, server_side=True)
    threading.Thread(target=supervisor.serve_forever, daemon=True).start()


# --- roles ----------------------------------------------------------------------------------------
def write_kubeconfig(ca_pem: bytes) -> None:
    import base64

    user_token = (DB_DIR / "admin-token").read_text().strip()
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "default",
        "clusters": [{"name": "default", "cluster": {"server": f"https://127.0.0.1:{API_PORT}",
                                                      "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
        "users": [{"name": "default", "user": {"token": user_token}}],
    }
    write_private(KUBECONFIG, yaml.safe_dump(kubeconfig, sort_keys=False))


def initialise(config: dict[str, Any], node: dict[str, Any]) -> None:
    """The first server: a new cluster, or the same cluster again after a restart."""
    existing = (DB_DIR / "cluster-id").exists()
    if not existing:
        registry = standin_dir() / "clusters.json"
        clusters = json.loads(registry.read_text()) if registry.exists() else []
        if clusters:
            record("rke2", "split-brain", initialised_before=[c["node"] for c in clusters])
        DB_DIR.mkdir(parents=True, exist_ok=True)
        cluster_id = secrets.token_hex(8)
        (DB_DIR / "cluster-id").write_text(cluster_id)
        write_private(DB_DIR / "admin-token", secrets.token_hex(24))
        clusters.append({"node": node["name"], "cluster": cluster_id, "t": time.monotonic()})
        registry.write_text(json.dumps(clusters))
        record("rke2", "cluster-init", cluster=cluster_id)
    ca_crt, serving_crt, serving_key = ensure_certificates(config, node)
    ca_pem = ca_crt.read_bytes()
    token_file = SERVER_DIR / "token"
    if token_file.exists():
        secret = token_secret(token_file.read_text().strip())
        if config.get("token") and token_secret(str(config["token"])) != secret:
            record("rke2", "token-mismatch")
            raise SystemExit("token in config.yaml does not match the cluster's bootstrap token")
    else:
        secret = token_secret(str(config.get("token") or secrets.token_hex(32)))
    full = f"K10{ca_hash(ca_pem)}::server:{secret}"
    write_private(token_file, full + "\n")
    write_private(SERVER_DIR / "node-token", full + "\n")
    start_emulator(serving_crt, serving_key)
    name = node_name(config)
    created = register_node(node_object(name, "server", node, list(config.get("node-taint") or [])))
    record("rke2", "node-registered", name=name, new_node=created)
    write_kubeconfig(ca_pem)
    serve_supervisor(Supervisor(secret, ca_pem, critical(config), full), serving_crt, serving_key)


def join(config: dict[str, Any], node: dict[str, Any], role: str) -> None:
    server = str(config["server"])
    token = str(config.get("token") or "")
    if not token:
        raise SystemExit("--token is required to join a cluster")
    base = server.rstrip("/")
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    deadline = time.monotonic() + JOIN_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(f"{base}/cacerts", timeout=5, context=insecure) as response:
                ca_pem = response.read()
            break
        except (urllib.error.URLError, OSError) as exc:
            if time.monotonic() > deadline:
                record("rke2", "join-unreachable", server=server, error=str(exc))
                raise SystemExit(f"failed to get CA certs from {server}: {exc}")
            time.sleep(0.5)
    if token.startswith("K10") and not token.startswith(f"K10{ca_hash(ca_pem)}::"):
        record("rke2", "join-ca-mismatch", server=server)
        raise SystemExit("token CA hash does not match the Cluster CA certificate hash")
    verified = ssl.create_default_context(cadata=ca_pem.decode())
    verified.check_hostname = False  # the registration address may be a load balancer's
    name = node_name(config)
    body = {"token": token, "name": name, "role": role, "node": node, "critical": critical(config),
            "taints": list(config.get("node-taint") or [])}
    request = urllib.request.Request(f"{base}/v1-rke2/join", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    record("rke2", "join-attempt", server=server, role=role, name=name)
    try:
        with urllib.request.urlopen(request, timeout=15, context=verified) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        record("rke2", "join-failed", server=server, status=exc.code)
        raise SystemExit(f"failed to join {server}: HTTP {exc.code}")
    if role == "server":
        write_private(SERVER_DIR / "token", answer["node_token"] + "\n")
        write_private(SERVER_DIR / "node-token", answer["node_token"] + "\n")
    AGENT_DIR.mkdir(parents=True, exist_ok=True)
    (AGENT_DIR / "joined").write_text(server + "\n")
    record("rke2", "joined", server=server, role=role, name=name)


def run(role: str) -> int:
    node = this_node()
    config = load_config()
    stat = CONFIG.stat() if CONFIG.exists() else None
    record("rke2", "start", role=role, argv=sys.argv[1:], env=dict(os.environ), joins=bool(config.get("server")),
           config_sha256=hashlib.sha256(CONFIG.read_bytes()).hexdigest() if stat else None,
           config_mode=oct(stat.st_mode & 0o777) if stat else None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if role == "server" and not config.get("server"):
        initialise(config, node)
    else:
        join(config, node, role)
    notify_ready()
    record("rke2", "ready", role=role)
    stop.wait()
    record("rke2", "stopping", role=role)
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("--version", "-v", "version"):
        print(f"rke2 version {VERSION} (stand-in written for the digit installer's test rig)")
        print("go version go1.21.9 X:boringcrypto")
        return 0
    if argv[0] in ("server", "agent"):
        try:
            return run(argv[0])
        except SystemExit as exc:
            if isinstance(exc.code, str):
                print(f"level=fatal msg=\"{exc.code}\"", file=sys.stderr)
                return 1
            raise
    print(f"rke2 stand-in: unsupported command {argv[0]!r}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
