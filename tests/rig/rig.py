"""The simulated state data centre: real sshd nodes, a real PostgreSQL, the Kubernetes emulator.

    rig = Rig.up(tmp_dir, nodes=3, facts=["n3:cpus=1"], rollout_delay=0.5)
    ... rig.answers_path, rig.kubeconfig_path, rig.env, rig.api_url, rig.pg_dsn_admin, rig.nodes ...
    rig.down()

Everything it starts is a daemon with its pid recorded under the rig directory, so the rig
outlives the `tests/rig/up` command and `tests/rig/down` (or Rig.down) stops it by pid.
Network traffic stays on loopback and inside the network namespaces the rig creates.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterable

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SSH_USER = "digitrig"
SUDOERS = Path("/etc/sudoers.d/digitrig")
RUNTIME_ROOT = Path("/var/tmp/digit-rig")
HOSTS_FILE = Path("/etc/hosts")
HOSTS_LOCK = Path("/var/tmp/digit-rig.hosts.lock")
DB_USER = "egov"
DB_NAME = "egov"
HELM_DB = "helm"  # role and database of Helm's sql release storage
HELM_DRIVERS = ("secret", "sql")  # where the rig's env points Helm's release records

# What every node reports unless a --fact says otherwise: enough for the dev, quickstart and sdc-dev profiles.
DEFAULT_FACTS: dict[str, str] = {
    "cpus": "8",
    "memory_gb": "32",
    "disk_gb": "200",
    "swap": "off",
    "max_map_count": "262144",
    "modules": "overlay,br_netfilter,ip_tables,nf_conntrack",
    "clock_skew": "0",
    "sudo": "nopasswd",
    "dns": "on",
    "time_sync": "yes",
}
FACT_KEYS = set(DEFAULT_FACTS) | {"kernel", "machine_id", "os", "hostname"}


class RigError(Exception):
    pass


@dataclass
class RigNode:
    name: str
    host: str
    port: int
    role: str
    netns: str | None
    machine_id: str
    host_key_fingerprint: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    sshd_port: int | None = None  # with a link delay: where sshd itself listens (the proxy takes `port`)


def _run(argv: list[str], check: bool = True, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise RigError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
    return result


def parse_facts(facts: Iterable[str]) -> dict[str, dict[str, str]]:
    """'n3:cpus=1' -> {'n3': {'cpus': '1'}}; a bad spec is a RigError naming it."""
    parsed: dict[str, dict[str, str]] = {}
    for spec in facts:
        node, sep, rest = spec.partition(":")
        key, eq, value = rest.partition("=")
        if not sep or not eq or not node or not key:
            raise RigError(f"--fact {spec!r}: expected NODE:KEY=VALUE, e.g. n3:cpus=1")
        if key not in FACT_KEYS:
            raise RigError(f"--fact {spec!r}: unknown key {key!r} (known: {', '.join(sorted(FACT_KEYS))})")
        parsed.setdefault(node, {})[key] = value
    return parsed


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _stop_pid(pid: int, timeout: float = 5.0, expect: str | None = None) -> None:
    """Stop a process by pid; with `expect`, only if its command line names it (a reused pid is left alone)."""
    if not _pid_alive(pid):
        return
    if expect is not None and expect not in _cmdline(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not _pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def netns_available() -> bool:
    probe = f"digitrigprobe{os.getpid()}"
    result = subprocess.run(["ip", "netns", "add", probe], capture_output=True, timeout=10)
    if result.returncode != 0:
        return False
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)
    return True


class Rig:
    """A running (or recorded) rig under one directory; see the module docstring."""

    def __init__(self, dir: Path | str) -> None:
        self.dir = Path(dir).resolve()
        self.rig_id = hashlib.sha256(str(self.dir).encode()).hexdigest()[:6]
        self.runtime = RUNTIME_ROOT / self.rig_id
        self.state_path = self.dir / "rig.json"
        self.answers_path = self.dir / "answers.yaml"
        self.kubeconfig_path = self.dir / "kubeconfig"
        self.env_path = self.dir / "env"
        self.rollout_path = self.dir / "rollout.json"
        self.rbac_path = self.dir / "rbac.json"
        self.ssh_key_path = self.dir / "ssh" / "id_ed25519"
        self.fqdn = f"uat-{self.rig_id}.digit.test"
        self.nodes: list[RigNode] = []
        self.api_url = ""
        self.pg_port = 0
        self.env: dict[str, str] = {}
        self.use_netns = False
        self.subnet = ""
        self.bridge = f"drb{self.rig_id}"
        self._pg_admin_password = ""
        self.kube_tls = False
        self.helm_driver = "secret"
        self.link_delay_ms = 0.0
        self.kube_ca_path = self.dir / "kube-tls" / "ca.crt"
        self.bare = False
        self.artifacts_path = self.dir / "rke2-artifacts"
        self.standins_path = self.dir / "standins"
        self.with_registry = False
        self.registries_dir = self.dir / "registries"
        if self.state_path.exists():
            self._load_state()

    # --- state ----------------------------------------------------------------------------------
    def _load_state(self) -> None:
        state = json.loads(self.state_path.read_text())
        self.nodes = [RigNode(**n) for n in state.get("nodes", [])]
        self.api_url = state.get("api_url", "")
        self.pg_port = state.get("pg_port", 0)
        self.use_netns = state.get("use_netns", False)
        self.subnet = state.get("subnet", "")
        self._pg_admin_password = state.get("pg_admin_password", "")
        self.kube_tls = state.get("kube_tls", False)
        self.bare = state.get("bare", False)
        self.with_registry = state.get("with_registry", False)
        self.helm_driver = state.get("helm_driver", "secret")
        self.link_delay_ms = state.get("link_delay_ms", 0.0)
        if self.env_path.exists():
            self.env = dict(line.split("=", 1) for line in self.env_path.read_text().splitlines() if "=" in line)

    def _save_state(self) -> None:
        state = {
            "rig_id": self.rig_id, "runtime": str(self.runtime), "nodes": [asdict(n) for n in self.nodes],
            "api_url": self.api_url, "pg_port": self.pg_port, "use_netns": self.use_netns, "subnet": self.subnet,
            "bridge": self.bridge, "fqdn": self.fqdn, "pg_admin_password": self._pg_admin_password,
            "kube_tls": self.kube_tls, "bare": self.bare, "with_registry": self.with_registry,
            "helm_driver": self.helm_driver,
            "link_delay_ms": self.link_delay_ms,
        }
        _write_private(self.state_path, json.dumps(state, indent=2))

    @property
    def pg_dsn_admin(self) -> str:
        return (f"host=127.0.0.1 port={self.pg_port} user=postgres password={self._pg_admin_password} "
                f"dbname=postgres connect_timeout=5")

    @property
    def pg_dsn(self) -> str:
        """The install user's DSN (the database itself may not exist yet)."""
        return (f"host=127.0.0.1 port={self.pg_port} user={DB_USER} password={self.env.get('DIGIT_DB_PASSWORD', '')} "
                f"dbname=postgres connect_timeout=5")

    def node(self, name: str) -> RigNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise RigError(f"no node {name!r} in the rig (nodes: {', '.join(n.name for n in self.nodes)})")

    # --- up / down ------------------------------------------------------------------------------
    @classmethod
    def up(cls, dir: Path | str, nodes: int = 3, facts: Iterable[str] = (), rollout_delay: float = 0.5,
           netns: bool | None = None, server_version: str | None = None, kube_tls: bool = False,
           bare: bool = False, roles: list[str] | None = None, images_mb: float = 1.0,
           registry: bool = False, helm_driver: str = "secret",
           link_delay_ms: float = 0.0) -> Rig:
        if nodes < 1 or nodes > 60:
            raise RigError(f"--nodes {nodes}: between 1 and 60")
        if roles is not None and len(roles) != nodes:
            raise RigError(f"--roles names {len(roles)} roles for {nodes} nodes")
        if helm_driver not in HELM_DRIVERS:
            raise RigError(f"--helm-driver {helm_driver}: one of {', '.join(HELM_DRIVERS)}")
        if not 0 <= link_delay_ms <= 5000:
            raise RigError(f"--link-delay-ms {link_delay_ms}: between 0 and 5000")
        fact_map = parse_facts(facts)
        names = [f"n{i}" for i in range(1, nodes + 1)]
        for node_name in fact_map:
            if node_name not in names:
                raise RigError(f"--fact for {node_name!r}: the rig has nodes {', '.join(names)}")
        cls.collect_orphans()
        rig = cls(dir)
        rig.down(quiet=True)
        rig = cls(dir)
        rig.dir.mkdir(parents=True, exist_ok=True)
        rig.use_netns = netns_available() if netns is None else netns
        rig.kube_tls = kube_tls
        rig.bare = bare
        if bare and not rig.use_netns:
            raise RigError("--bare needs network namespaces (each node listens on RKE2's own ports 6443 and 9345)")
        rig.with_registry = registry
        rig.helm_driver = helm_driver
        rig.link_delay_ms = link_delay_ms
        try:
            rig._start(names, fact_map, rollout_delay, server_version, roles, images_mb)
        except BaseException:
            rig.down(quiet=True)
            raise
        return rig

    def _start(self, names: list[str], fact_map: dict[str, dict[str, str]], rollout_delay: float,
               server_version: str | None, roles: list[str] | None = None, images_mb: float = 1.0) -> None:
        self._prepare_runtime()
        self._ensure_user()
        self._client_key()
        _write_private(self.rollout_path, json.dumps({"delay": rollout_delay, "never_ready": [],
                                                      "reason": "CrashLoopBackOff"}))
        if self.use_netns:
            self.subnet = self._pick_subnet()
            self._make_bridge()
        for index, name in enumerate(names):
            if roles is not None:
                role = roles[index]
            elif self.bare:
                role = "control-plane" if index < (3 if len(names) >= 5 else 1) else "worker"
            else:
                role = "control-plane" if index == 0 and len(names) > 1 else "worker"
            facts = {**DEFAULT_FACTS, **fact_map.get(name, {})}
            machine_id = facts.pop("machine_id", None) or hashlib.md5(f"{self.rig_id}/{name}".encode()).hexdigest()
            if self.use_netns:
                net = ipaddress.ip_network(self.subnet)
                host, port, ns = str(net.network_address + 10 + index), 22, f"dr{self.rig_id}{name}"
            else:
                host = f"127.{int(self.rig_id[:2], 16) % 200 + 20}.{int(self.rig_id[2:4], 16)}.{10 + index}"
                port, ns = _free_port(host), None
            sshd_port = None
            if self.link_delay_ms:
                sshd_port = 22 if ns else _free_port(host)
            self.nodes.append(RigNode(name=name, host=host, port=port, role=role, netns=ns,
                                      machine_id=machine_id, facts=facts, sshd_port=sshd_port))
        self._save_state()
        for node in self.nodes:
            self._setup_node(node)
        self._save_state()
        self._start_postgres()
        self._save_state()
        if self.bare:
            self._write_standins(images_mb)
        else:
            self._start_kube(server_version)
        self._save_state()
        if self.with_registry:
            self._start_registries()
        self._add_jump_host_dns()
        self._write_client_files()
        if self.link_delay_ms:
            self._start_delay_proxy()
        for node in self.nodes:
            self.start_node(node.name)
        self._wait_ready()

    def down(self, quiet: bool = False) -> None:
        """Stop everything recorded under the directory (also the leftovers of a crashed run)."""
        errors: list[str] = []
        pidfiles = [(path, str(self.runtime)) for path in [*self.dir.glob("nodes/*/sshd.pid"),
                                                           *self.runtime.glob("nodes/*/sshd.pid")]]
        pidfiles += [(self.dir / "kube.pid", str(self.dir)), (self.runtime / "kube.pid", str(self.dir))]
        pidfiles += [(self.dir / "delay-proxy.pid", str(self.dir)), (self.runtime / "delay-proxy.pid", str(self.dir))]
        for pidfile, expect in pidfiles:
            pid = _read_pid(pidfile)
            if pid:
                _stop_pid(pid, expect=expect)
            pidfile.unlink(missing_ok=True)
        from tests.rig import registry as rig_registry

        rig_registry.stop_all(self.registries_dir)
        pg_data = self.runtime / "pg" / "data"
        if (pg_data / "postmaster.pid").exists():
            result = subprocess.run(["runuser", "-u", "postgres", "--", "pg_ctl", "-D", str(pg_data), "-m", "immediate",
                                     "-w", "-t", "20", "stop"], capture_output=True, text=True, timeout=40)
            if result.returncode != 0:
                pid = _read_pid(pg_data / "postmaster.pid")
                if pid:
                    _stop_pid(pid, expect=str(pg_data))
        pg_pid = _read_pid(self.dir / "postgres.pid")
        if pg_pid and _pid_alive(pg_pid):
            _stop_pid(pg_pid, expect=str(pg_data))
        (self.dir / "postgres.pid").unlink(missing_ok=True)
        listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10).stdout
        for line in listing.splitlines():
            ns = line.split()[0] if line.split() else ""
            if ns.startswith(f"dr{self.rig_id}"):
                for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                                          timeout=10).stdout.split():
                    _stop_pid(int(pid))
                result = subprocess.run(["ip", "netns", "del", ns], capture_output=True, text=True, timeout=10)
                if result.returncode != 0:
                    errors.append(result.stderr.strip())
        if Path(f"/sys/class/net/{self.bridge}").exists() or subprocess.run(
                ["ip", "link", "show", self.bridge], capture_output=True, timeout=10).returncode == 0:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, timeout=10)
        self._remove_jump_host_dns()
        if self.runtime.exists():
            shutil.rmtree(self.runtime, ignore_errors=True)
        self.state_path.unlink(missing_ok=True)
        if errors and not quiet:
            raise RigError("; ".join(errors))

    # --- pieces ---------------------------------------------------------------------------------
    def _prepare_runtime(self) -> None:
        RUNTIME_ROOT.mkdir(parents=True, exist_ok=True)
        os.chmod(RUNTIME_ROOT, 0o755)
        self.runtime.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime, 0o755)
        (self.runtime / "owner").write_text(str(self.dir))

    @classmethod
    def collect_orphans(cls) -> list[str]:
        """Stop rigs whose directory is gone (a test run killed before its teardown); returns their directories."""
        stopped = []
        for runtime in sorted(RUNTIME_ROOT.glob("*/owner")) if RUNTIME_ROOT.exists() else []:
            try:
                owner = Path(runtime.read_text().strip())
            except FileNotFoundError:  # another process stopped that rig meanwhile
                continue
            if owner.is_absolute() and not owner.exists():
                cls(owner).down(quiet=True)
                stopped.append(str(owner))
        return stopped

    def _ensure_user(self) -> None:
        if _run(["id", "-u", SSH_USER], check=False).returncode != 0:
            result = _run(["useradd", "-m", "-s", "/bin/bash", SSH_USER], check=False)
            if result.returncode not in (0, 9):  # 9: created meanwhile by a parallel rig
                raise RigError(f"useradd {SSH_USER}: {result.stderr.strip()}")
        _run(["usermod", "-p", "*", SSH_USER])
        if not SUDOERS.exists():
            tmp = SUDOERS.with_name(f".digitrig.{os.getpid()}")
            tmp.write_text(f"{SSH_USER} ALL=(ALL) NOPASSWD:ALL\n")
            os.chmod(tmp, 0o440)
            tmp.rename(SUDOERS)

    def _client_key(self) -> None:
        key = self.ssh_key_path
        key.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(key.parent, 0o700)
        for path in (key, key.with_suffix(".pub")):
            path.unlink(missing_ok=True)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"digit-rig-{self.rig_id}", "-f", str(key)])
        os.chmod(key, 0o600)
        authorized = self.runtime / "authorized_keys"
        shutil.copyfile(key.with_suffix(".pub"), authorized)
        os.chmod(authorized, 0o644)

    def _pick_subnet(self) -> str:
        used = _run(["ip", "-4", "route", "show"]).stdout + _run(["ip", "-4", "addr", "show"]).stdout
        seed = int(self.rig_id, 16)
        for attempt in range(200):
            value = (seed + attempt * 7919) % (250 * 250)
            candidate = ipaddress.ip_network(f"10.{200 + value // 250 % 50}.{value % 250}.0/24")
            if f" {candidate.network_address}/" not in used and str(candidate.network_address + 1) + "/" not in used:
                return str(candidate)
        raise RigError("no free 10.x subnet for the rig bridge")

    def _make_bridge(self) -> None:
        net = ipaddress.ip_network(self.subnet)
        _run(["ip", "link", "add", self.bridge, "type", "bridge"])
        _run(["ip", "addr", "add", f"{net.network_address + 1}/{net.prefixlen}", "dev", self.bridge])
        _run(["ip", "link", "set", self.bridge, "up"])

    @property
    def gateway(self) -> str:
        return str(ipaddress.ip_network(self.subnet).network_address + 1) if self.subnet else "127.0.0.1"

    def node_dir(self, node: RigNode) -> Path:
        return self.runtime / "nodes" / node.name

    def _setup_node(self, node: RigNode) -> None:
        ndir = self.node_dir(node)
        (ndir / "fakebin").mkdir(parents=True, exist_ok=True)
        os.chmod(ndir, 0o755)
        (self.dir / "nodes" / node.name).mkdir(parents=True, exist_ok=True)
        key = ndir / "ssh_host_ed25519_key"
        self._new_host_key(node)
        (ndir / "machine-id").write_text(node.machine_id + "\n")
        self._write_hosts(node)
        self._write_facts(node)
        if self.bare:
            for folder, mounted in self.NODE_ROOTS.items():
                (ndir / "root" / folder).mkdir(parents=True, exist_ok=True)
                Path(mounted).mkdir(parents=True, exist_ok=True)  # an empty mount point on the machine
        if node.netns:
            _run(["ip", "netns", "add", node.netns])
            veth = f"drv{self.rig_id}{node.name}"[:15]
            _run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", node.netns])
            _run(["ip", "link", "set", veth, "master", self.bridge, "up"])
            prefix = ipaddress.ip_network(self.subnet).prefixlen
            _run(["ip", "-n", node.netns, "addr", "add", f"{node.host}/{prefix}", "dev", "eth0"])
            _run(["ip", "-n", node.netns, "link", "set", "eth0", "up"])
            _run(["ip", "-n", node.netns, "link", "set", "lo", "up"])
            _run(["ip", "-n", node.netns, "route", "add", "default", "via", self.gateway])
        fakebin = ndir / "fakebin"
        config = "\n".join([
            f"Port {node.sshd_port or node.port}",
            # Behind the delaying proxy: inside a namespace on the node's own loopback, else on another port.
            f"ListenAddress {'127.0.0.1' if node.sshd_port and node.netns else node.host}",
            f"HostKey {key}",
            f"PidFile {self.dir / 'nodes' / node.name / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.runtime / 'authorized_keys'}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin no",
            f"AllowUsers {SSH_USER}",
            "MaxStartups 200:30:400",
            "MaxSessions 50",
            "UseDNS no",
            "Subsystem sftp internal-sftp",
            "LogLevel VERBOSE",
            f"SetEnv PATH={fakebin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "",
        ])
        (ndir / "sshd_config").write_text(config)

    # --- bare nodes: RKE2 stand-ins ------------------------------------------------------------
    # What RKE2 writes lives in per-node directories bind-mounted over the real paths inside the node's
    # mount namespace, so the installer's commands name /etc/rancher/rke2/config.yaml and friends as on
    # a real machine, and no node sees another's files.
    NODE_ROOTS = {"etc-rancher": "/etc/rancher", "var-lib-rancher": "/var/lib/rancher", "usr-local": "/usr/local",
                  "srv": "/srv"}  # /srv: the nodes' data path (static volumes' host directories)

    def node_root(self, node: RigNode, path: str) -> Path:
        """Where the rig keeps what the node sees at `path` (e.g. /etc/rancher/rke2/config.yaml)."""
        for folder, mounted in self.NODE_ROOTS.items():
            if path == mounted or path.startswith(mounted + "/"):
                return self.node_dir(node) / "root" / folder / path[len(mounted):].lstrip("/")
        raise RigError(f"{path} is not under a per-node directory ({', '.join(self.NODE_ROOTS.values())})")

    def _write_standins(self, images_mb: float) -> None:
        from tests.rig.standin import artifacts

        if self.standins_path.exists():
            shutil.rmtree(self.standins_path)
        self.standins_path.mkdir(parents=True)
        os.chmod(self.standins_path, 0o755)
        (self.standins_path / "events.jsonl").touch()
        if self.artifacts_path.exists():
            shutil.rmtree(self.artifacts_path)
        artifacts.build(self.artifacts_path, PYTHON, REPO, self.dir, images_mb)
        for node in self.nodes:
            artifacts.node_usr_local(self.node_root(node, "/usr/local"), PYTHON, REPO, self.dir)
        self._write_node_table()

    def _write_node_table(self) -> None:
        table = {n.machine_id: {"name": n.name, "host": n.host, "role": n.role, "machine_id": n.machine_id,
                                "facts": n.facts, "runtime": str(self.node_dir(n) / "standin")} for n in self.nodes}
        (self.standins_path / "nodes.json").write_text(json.dumps(table, indent=2))

    def events(self) -> list[dict[str, Any]]:
        """What the stand-ins were asked, in order of one monotonic clock."""
        from tests.rig.standin.common import read_events

        return sorted(read_events(self.dir), key=lambda e: e["t"])

    def _new_host_key(self, node: RigNode) -> None:
        key = self.node_dir(node) / "ssh_host_ed25519_key"
        for path in (key, key.with_suffix(".pub")):
            path.unlink(missing_ok=True)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{node.name}", "-f", str(key)])
        node.host_key_fingerprint = _run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(key.with_suffix(".pub"))]).stdout.split()[1]

    def _lb_address(self) -> str:
        return self.nodes[0].host if self.nodes else "127.0.0.1"

    def _write_hosts(self, node: RigNode) -> None:
        lines = ["127.0.0.1 localhost", f"127.0.1.1 {node.facts.get('hostname') or node.name}"]
        lines += [f"{n.host} {n.name}" for n in self.nodes if n.host != "127.0.0.1"]
        if node.facts.get("dns", "on") != "off":
            lines.append(f"{self._lb_address()} {self.fqdn}")
        (self.node_dir(node) / "hosts").write_text("\n".join(lines) + "\n")
        # No resolver inside a node's namespace: lookups past /etc/hosts fail at once instead of timing out.
        (self.node_dir(node) / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")

    def _write_facts(self, node: RigNode) -> None:
        """Stub commands first on the node's PATH report the node's facts; everything else is real."""
        facts = node.facts
        fakebin = self.node_dir(node) / "fakebin"
        for old in fakebin.iterdir():
            old.unlink()
        gib = 1024 ** 3
        mem = int(float(facts["memory_gb"]) * gib)
        swap_bytes = 4 * gib if facts["swap"] == "on" else 0
        disk = int(float(facts["disk_gb"]) * 1000 ** 3)
        stubs = {
            "nproc": f'echo {facts["cpus"]}\n',
            "free": (
                'printf "               total        used        free      shared  buff/cache   available\\n"\n'
                f'printf "Mem:    %14d %11d %11d %11d %11d %11d\\n" {mem} {mem // 8} {mem // 2} 0 {mem // 4} {mem * 3 // 4}\n'
                f'printf "Swap:   %14d %11d %11d\\n" {swap_bytes} 0 {swap_bytes}\n'
            ),
            "df": (
                'echo "Filesystem     1B-blocks       Used    Available Capacity Mounted on"\n'
                'for arg in "$@"; do case "$arg" in -*) ;; *) '
                f'printf "/dev/rigdisk %d %d %d 10%% %s\\n" {disk * 2} {disk} {disk} "$arg";; esac; done\n'
            ),
            "swapon": (f'echo "/swap.img file {swap_bytes} 0 -2"\n' if swap_bytes else "exit 0\n"),
            "sysctl": (
                'for arg in "$@"; do case "$arg" in vm.max_map_count) '
                f'echo {facts["max_map_count"]}; exit 0;; esac; done\nexec /usr/sbin/sysctl "$@"\n'
            ),
            "lsmod": (
                'echo "Module                  Size  Used by"\n'
                + "".join(f'echo "{m}  16384  0"\n' for m in facts["modules"].split(",") if m)
            ),
        }
        if facts.get("clock_skew", "0") not in ("0", ""):
            stubs["date"] = (
                'if [ "$1" = "+%s.%N" ]; then now=$(/bin/date +%s.%N); '
                f'echo "$now {facts["clock_skew"]}" | awk \'{{printf "%.9f\\n", $1 + $2}}\'; '
                'else exec /bin/date "$@"; fi\n'
            )
        stubs["timedatectl"] = (f'case "$*" in *NTPSynchronized*) echo {shlex.quote(facts["time_sync"])};; '
                                '*) echo "timedatectl: not available on the rig" >&2; exit 1;; esac\n')
        if facts.get("kernel"):
            stubs["uname"] = f'case "$1" in -r) echo {facts["kernel"]};; *) exec /bin/uname "$@";; esac\n'
        if facts.get("sudo") == "password":
            stubs["sudo"] = 'echo "sudo: a password is required" >&2\nexit 1\n'
        for name, body in stubs.items():
            path = fakebin / name
            path.write_text("#!/bin/sh\n" + body)
            os.chmod(path, 0o755)
        os_release = self.node_dir(node) / "os-release"
        if facts.get("os"):
            os_id, _, version = facts["os"].partition(":")
            os_release.write_text(f'ID={os_id}\nVERSION_ID="{version}"\nPRETTY_NAME="{os_id} {version}"\n')
        else:
            shutil.copyfile("/etc/os-release", os_release)

    def set_fact(self, node_name: str, key: str, value: str) -> None:
        """Change what one running node reports; takes effect on the next SSH command."""
        node = self.node(node_name)
        parse_facts([f"{node_name}:{key}={value}"])
        if key == "machine_id":
            raise RigError("machine_id is fixed at `up`; pass it as --fact")
        node.facts[key] = value
        self._write_facts(node)
        self._write_hosts(node)
        if self.bare:
            self._write_node_table()
        self._save_state()

    # --- node processes -------------------------------------------------------------------------
    def start_node(self, name: str) -> None:
        node = self.node(name)
        ndir = self.node_dir(node)
        log = self.dir / "nodes" / node.name / "sshd.log"
        mounts = [
            f"mount --bind {ndir / 'machine-id'} /etc/machine-id",
            f"mount --bind {ndir / 'hosts'} /etc/hosts",
            f"mount --bind {ndir / 'resolv.conf'} /etc/resolv.conf",
            f"mount --bind {ndir / 'os-release'} /etc/os-release" if Path("/etc/os-release").is_file() and not
            Path("/etc/os-release").is_symlink() else f"mount --bind {ndir / 'os-release'} /usr/lib/os-release",
            f"exec /usr/sbin/sshd -f {ndir / 'sshd_config'} -E {log}",
        ]
        # Its own UTS namespace: each node has its own host name, as a VM has.
        mounts.insert(-1, f"hostname {shlex.quote(node.facts.get('hostname') or node.name)}")
        if self.bare:
            mounts[-1:-1] = [f"mount --bind {ndir / 'root' / folder} {mounted}" for folder, mounted in
                             self.NODE_ROOTS.items()]
        argv = ["unshare", "-m", "-u", "--propagation", "private", "sh", "-ec", " && ".join(mounts)]
        if node.netns:
            argv = ["ip", "netns", "exec", node.netns] + argv
        Path("/run/sshd").mkdir(exist_ok=True)
        _run(argv, timeout=30)
        direct = node.sshd_port if node.sshd_port and not node.netns else node.port
        self._wait_port(node.host, direct, f"sshd of {node.name}")
        self._copy_pid(self.dir / "nodes" / node.name / "sshd.pid", self.node_dir(node) / "sshd.pid")

    def _start_delay_proxy(self) -> None:
        """One delaying TCP proxy (tests/rig/delay_proxy.py) on every node's SSH address, in front of its sshd."""
        config = {"delay": self.link_delay_ms / 1000.0, "links": [
            {"listen": [node.host, node.port],
             "upstream": ["127.0.0.1" if node.netns else node.host, node.sshd_port], "netns": node.netns}
            for node in self.nodes]}
        config_path, ready = self.dir / "delay-proxy.json", self.dir / "delay-proxy.ready"
        config_path.write_text(json.dumps(config, indent=2))
        ready.unlink(missing_ok=True)
        pid_file = self.dir / "delay-proxy.pid"
        with open(self.dir / "delay-proxy.log", "ab") as log:
            subprocess.Popen([PYTHON, "-m", "tests.rig.delay_proxy", "--config", str(config_path), "--pid-file",
                              str(pid_file), "--ready-file", str(ready)], cwd=REPO, stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL, start_new_session=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
        deadline = time.monotonic() + 30
        while not ready.exists():
            if time.monotonic() > deadline:
                raise RigError(f"the delaying proxy did not start; see {self.dir / 'delay-proxy.log'}")
            time.sleep(0.05)
        self._copy_pid(pid_file, self.runtime / "delay-proxy.pid")

    @staticmethod
    def _copy_pid(source: Path, copy: Path) -> None:
        """A second pidfile outside the rig directory, so a rig whose directory vanished can still be stopped."""
        deadline = time.monotonic() + 5
        while _read_pid(source) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        pid = _read_pid(source)
        if pid:
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(f"{pid}\n")

    def stop_node(self, name: str) -> None:
        """Stop one node's sshd (the node is 'down'); start_node brings it back."""
        node = self.node(name)
        for pidfile in (self.dir / "nodes" / node.name / "sshd.pid", self.node_dir(node) / "sshd.pid"):
            pid = _read_pid(pidfile)
            if pid:
                _stop_pid(pid, expect=str(self.runtime))
            pidfile.unlink(missing_ok=True)

    def pause_node(self, name: str) -> None:
        """Freeze one node's sshd (SIGSTOP): connections hang instead of being refused."""
        pid = _read_pid(self.dir / "nodes" / self.node(name).name / "sshd.pid")
        if pid:
            os.kill(pid, signal.SIGSTOP)

    def resume_node(self, name: str) -> None:
        pid = _read_pid(self.dir / "nodes" / self.node(name).name / "sshd.pid")
        if pid:
            os.kill(pid, signal.SIGCONT)

    def block_port(self, source: str, target: str, port: int, proto: str = "tcp") -> None:
        """A firewall between two nodes: `target` drops `proto/port` from `source` (iptables in target's namespace)."""
        src, dst = self.node(source), self.node(target)
        if not dst.netns:
            raise RigError("blocking a port between nodes needs network namespaces")
        _run(["ip", "netns", "exec", dst.netns, "iptables", "-A", "INPUT", "-s", src.host, "-p", proto,
              "--dport", str(port), "-j", "DROP"])

    def rotate_host_key(self, name: str) -> str:
        """Give a node a new host key (what a man-in-the-middle looks like); returns the new fingerprint."""
        node = self.node(name)
        self.stop_node(name)
        self._new_host_key(node)
        self._save_state()
        self.start_node(name)
        return node.host_key_fingerprint

    # --- rollout / rbac control -----------------------------------------------------------------
    def set_rollout(self, delay: float | None = None, never_ready: list[str] | dict[str, str] | None = None,
                    reason: str | None = None, delays: dict[str, float] | None = None) -> None:
        """Change the rollout simulator's control (None: keep); `delays` gives releases their own rollout time."""
        control = json.loads(self.rollout_path.read_text()) if self.rollout_path.exists() else {}
        if delay is not None:
            control["delay"] = delay
        if delays is not None:
            control["delays"] = delays
        if never_ready is not None:
            control["never_ready"] = never_ready
        if reason is not None:
            control["reason"] = reason
        tmp = self.rollout_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(control))
        tmp.rename(self.rollout_path)

    def deny(self, *rules: str) -> None:
        """Make SelfSubjectAccessReviews answer 'no' for 'verb resource' rules, e.g. 'create secrets'."""
        self.rbac_path.write_text(json.dumps({"deny": list(rules)}))

    # --- postgres -------------------------------------------------------------------------------
    def _start_postgres(self) -> None:
        pg = self.runtime / "pg"
        data, sockets = pg / "data", pg / "run"
        for path in (pg, sockets):
            path.mkdir(parents=True, exist_ok=True)
        shutil.chown(pg, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
        self._pg_admin_password = secrets.token_urlsafe(18)
        db_password = secrets.token_urlsafe(18)
        pwfile = pg / "pwfile"
        pwfile.write_text(self._pg_admin_password + "\n")
        shutil.chown(pwfile, "postgres", "postgres")
        os.chmod(pwfile, 0o600)
        _run(["runuser", "-u", "postgres", "--", "initdb", "-D", str(data), "-U", "postgres", "-A", "scram-sha-256",
              f"--pwfile={pwfile}", "-E", "UTF8", "--no-instructions"], timeout=120)
        pwfile.unlink()
        self.pg_port = _free_port()
        _run(["runuser", "-u", "postgres", "--", "pg_ctl", "-D", str(data), "-l", str(pg / "postgres.log"), "-w",
              "-t", "60", "-o", f"-p {self.pg_port} -k {sockets} -c listen_addresses=127.0.0.1 "
              "-c shared_buffers=16MB -c max_connections=100 -c fsync=off", "start"], timeout=90)
        pid = _read_pid(data / "postmaster.pid")
        (self.dir / "postgres.pid").write_text(f"{pid}\n")
        # Helm's release records: by default in Secrets (Helm's default driver, which the emulator serves
        # in protobuf as kube-apiserver does); with helm_driver="sql" in this PostgreSQL (HELM_DRIVER, as
        # with Helm's own CLI). The helm role and database exist either way.
        helm_password = secrets.token_urlsafe(18)
        self.env = {"DIGIT_DB_PASSWORD": db_password}
        if self.helm_driver == "sql":
            self.env |= {"HELM_DRIVER": "sql", "HELM_DRIVER_SQL_CONNECTION_STRING":
                         f"postgresql://{HELM_DB}:{helm_password}@127.0.0.1:{self.pg_port}/{HELM_DB}?sslmode=disable"}
        _write_private(self.env_path, "".join(f"{k}={v}\n" for k, v in self.env.items()))
        sql = f"CREATE ROLE {DB_USER} LOGIN CREATEDB CREATEROLE PASSWORD '{db_password}';"
        for statement in (sql, f"CREATE ROLE {HELM_DB} LOGIN PASSWORD '{helm_password}';",
                          f"CREATE DATABASE {HELM_DB} OWNER {HELM_DB};"):
            _run(["runuser", "-u", "postgres", "--", "psql", "-h", str(sockets), "-p", str(self.pg_port),
                  "-v", "ON_ERROR_STOP=1", "-q", "-d", "postgres", "-c", statement],
                 env={**os.environ, "PGPASSWORD": self._pg_admin_password})

    # --- registries -----------------------------------------------------------------------------
    def _start_registries(self) -> None:
        """An upstream registry filled with the sample tree's images, and the site's TLS + htpasswd mirror."""
        from tests.rig import registry as rig_registry

        _upstream, mirror = rig_registry.start_pair(self.registries_dir)
        self.env["DIGIT_REGISTRY_PASSWORD"] = mirror.password or ""
        _write_private(self.env_path, "".join(f"{k}={v}\n" for k, v in self.env.items()))

    def registry(self, name: str):
        """The rig's 'upstream' or 'mirror' registry (tests.rig.registry.RigRegistry), or None."""
        from tests.rig import registry as rig_registry

        return rig_registry.load(self.registries_dir / name)

    # --- kubernetes emulator --------------------------------------------------------------------
    def node_objects(self) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        objects.append({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "local-path",
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        })
        for node in self.nodes:
            mem_ki = int(float(node.facts["memory_gb"]) * 1024 * 1024)
            disk_ki = int(float(node.facts["disk_gb"]) * 1000 ** 3 / 1024)
            capacity = {"cpu": node.facts["cpus"], "memory": f"{mem_ki}Ki", "pods": "110",
                        "ephemeral-storage": f"{disk_ki}Ki"}
            allocatable = {**capacity, "memory": f"{mem_ki - 256 * 1024}Ki"}
            labels = {"kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
            if node.role == "control-plane":
                labels["node-role.kubernetes.io/control-plane"] = ""
            objects.append({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": node.name, "labels": labels},
                "spec": {},
                "status": {
                    "capacity": capacity, "allocatable": allocatable,
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                    "message": "kubelet is posting ready status"}],
                    "addresses": [{"type": "InternalIP", "address": node.host},
                                  {"type": "Hostname", "address": node.name}],
                    "nodeInfo": {"architecture": "amd64", "bootID": node.machine_id, "containerRuntimeVersion":
                                 "containerd://1.7.15", "kernelVersion": node.facts.get("kernel") or os.uname().release,
                                 "kubeProxyVersion": "v1.29.4", "kubeletVersion": "v1.29.4",
                                 "machineID": node.machine_id, "operatingSystem": "linux",
                                 "osImage": "Debian GNU/Linux 12 (bookworm)", "systemUUID": node.machine_id},
                },
            })
        return objects

    def _start_kube(self, server_version: str | None) -> None:
        seed = self.dir / "kube-seed.json"
        seed.write_text(json.dumps(self.node_objects()))
        port_file = self.dir / "kube.port"
        port_file.unlink(missing_ok=True)
        argv = [PYTHON, "-m", "tests.rig.kube_emulator", "--dir", str(self.dir), "--seed", str(seed),
                "--port-file", str(port_file)]
        if server_version:
            argv += ["--server-version", server_version]
        if self.kube_tls:
            cert, key = self._kube_certificates()
            argv += ["--tls-cert", str(cert), "--tls-key", str(key)]
        with open(self.dir / "kube.log", "ab") as log:
            subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                             start_new_session=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if time.monotonic() > deadline:
                raise RigError(f"the Kubernetes emulator did not start; see {self.dir / 'kube.log'}")
            time.sleep(0.05)
        scheme = "https" if self.kube_tls else "http"
        self.api_url = f"{scheme}://127.0.0.1:{port_file.read_text().strip()}"
        self._copy_pid(self.dir / "kube.pid", self.runtime / "kube.pid")

    def _kube_certificates(self) -> tuple[Path, Path]:
        """A throwaway CA and a server certificate for 127.0.0.1, so the API can be served over verified TLS."""
        import datetime
        import ipaddress as ip

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        folder = self.kube_ca_path.parent
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"digit-rig-{self.rig_id} CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
              .not_valid_after(now + datetime.timedelta(days=30))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "kube-apiserver")]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip.ip_address("127.0.0.1")),
                                                            x509.DNSName("localhost")]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.kube_ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        cert_path, key_path = folder / "server.crt", folder / "server.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_private(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()).decode())
        return cert_path, key_path

    # --- files for the installer ----------------------------------------------------------------
    def _add_jump_host_dns(self) -> None:
        marker = f"# digit-rig {self.rig_id}"
        with open(HOSTS_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            lines = [ln for ln in HOSTS_FILE.read_text().splitlines() if not ln.endswith(marker)]
            lines.append(f"{self._lb_address()} {self.fqdn} {marker}")
            HOSTS_FILE.write_text("\n".join(lines) + "\n")

    def _remove_jump_host_dns(self) -> None:
        marker = f"# digit-rig {self.rig_id}"
        with open(HOSTS_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            text = HOSTS_FILE.read_text()
            if marker in text:
                lines = [ln for ln in text.splitlines() if not ln.endswith(marker)]
                HOSTS_FILE.write_text("\n".join(lines) + "\n")

    def _release_version(self) -> str:
        """The sample chart tree's release profile if the fixtures carry one, else the real one."""
        for candidate in sorted((REPO / "tests" / "fixtures").glob("**/releases/digit-*.y*ml")):
            target = self.dir / "profiles" / "releases" / candidate.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            target.symlink_to(candidate)
            return candidate.stem
        return "digit-2.9-lts"

    def _write_kubeconfig(self) -> None:
        token = secrets.token_hex(16)
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config", "current-context": "digit-rig",
            "clusters": [{"name": "digit-rig", "cluster": {"server": self.api_url, **(
                {"certificate-authority-data": base64.b64encode(self.kube_ca_path.read_bytes()).decode()}
                if self.kube_tls else {})}}],
            "users": [{"name": "digit-rig-admin", "user": {"token": token}}],
            "contexts": [{"name": "digit-rig", "context": {"cluster": "digit-rig", "user": "digit-rig-admin"}}],
        }
        _write_private(self.kubeconfig_path, json.dumps(kubeconfig, indent=2) + "\n")

    def _write_client_files(self) -> None:
        if not self.bare:
            self._write_kubeconfig()
        git_key = self.dir / "keys" / "git-sync"
        git_key.parent.mkdir(parents=True, exist_ok=True)
        if not git_key.exists():
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "git-sync", "-f", str(git_key)])
        os.chmod(git_key, 0o600)
        charts = REPO / "tests" / "fixtures" / "charts"
        version = self._release_version()
        lines = [
            "# A complete answers file for the digit test rig (tests/rig). Secrets: DIR/env and files under DIR.",
            "version: 1",
            f"name: rig-{self.rig_id}",
            "target:",
            *(["  kind: sdc-vms"] if self.bare else
              ["  kind: existing-cluster", "  kubeconfig: kubeconfig", "  context: digit-rig"]),
            "  nodes:",
        ]
        for node in self.nodes:
            lines.append(f"    - {{name: {node.name}, host: {node.host}, role: {node.role}"
                         + (f", port: {node.port}" if node.port != 22 else "")
                         + (", data_paths: [/srv]" if self.bare else "") + "}")
        lines += [
            "  ssh:",
            f"    user: {SSH_USER}",
            "    private_key: {file: ssh/id_ed25519}",
            "    connect_timeout: 5",
            "    host_keys:",
        ]
        seen_hosts: set[str] = set()
        for node in self.nodes:
            if node.host not in seen_hosts:
                lines.append(f'      "{node.host}": "{node.host_key_fingerprint}"')
                seen_hosts.add(node.host)
        if self.bare:
            lines += ["  rke2:", "    artifacts: rke2-artifacts  # stand-ins written by tests/rig/standin"]
            # quickstart's small volumes: the storage step checks real free space (df as root) on this machine.
            profile = "quickstart"
        else:
            profile = "dev" if len(self.nodes) >= 3 else "quickstart"
        lines += [
            "sizing:",
            f"  profile: {profile}",
            "domain:",
            f"  fqdn: {self.fqdn}",
            "  tls: {mode: self-signed}",
            "database:",
            "  mode: external",
            "  host: 127.0.0.1",
            f"  port: {self.pg_port}",
            f"  name: {DB_NAME}",
            f"  username: {DB_USER}",
            "  password: {env: DIGIT_DB_PASSWORD}",
            "  sslmode: disable",
            "release:",
            f"  version: {version}",
            f"  charts: {charts}",
            "config_repos:",
            "  mdms: {url: 'git@github.com:egovernments/egov-mdms-data.git', branch: DEV}",
            "  configs: {url: 'git@github.com:egovernments/configs.git', branch: DEV}",
            "  ssh_key: {file: keys/git-sync}",
            "monitoring: {enabled: false}",
            "",
        ]
        mirror = self.registry("mirror") if self.with_registry else None
        if mirror is not None:
            lines[-1:-1] = [
                "registry:",
                f"  mirror: {mirror.address}",
                f"  username: {mirror.user}",
                "  password: {env: DIGIT_REGISTRY_PASSWORD}",
                f"  ca_cert: {Path(mirror.ca_path).relative_to(self.dir)}",
            ]
        _write_private(self.answers_path, "\n".join(lines))

    # --- readiness ------------------------------------------------------------------------------
    @staticmethod
    def _wait_port(host: str, port: int, what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((host, port), timeout=1):
                    return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise RigError(f"{what} at {host}:{port} does not answer: {exc}") from None
                time.sleep(0.05)

    def _wait_ready(self) -> None:
        import urllib.request

        for node in self.nodes:
            self._wait_port(node.host, node.port, f"sshd of {node.name}")
        self._wait_port("127.0.0.1", self.pg_port, "PostgreSQL")
        if self.bare:
            return
        import ssl

        context = ssl.create_default_context(cafile=str(self.kube_ca_path)) if self.kube_tls else None
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{self.api_url}/version", timeout=2, context=context) as response:
                    json.loads(response.read())
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RigError(f"the Kubernetes emulator at {self.api_url} does not answer") from None
                time.sleep(0.05)

    def describe(self) -> str:
        rows = [f"rig {self.rig_id} in {self.dir} ({'network namespaces' if self.use_netns else 'loopback'}"
                + (f", {self.link_delay_ms:g} ms each way on SSH links" if self.link_delay_ms else "") + ")"]
        rows += [f"  {n.name:4} {n.role:13} ssh {SSH_USER}@{n.host}:{n.port}  {n.host_key_fingerprint}" for n in self.nodes]
        rows += [f"  kubernetes  none yet: bare nodes, stand-in RKE2 artifacts in {self.artifacts_path}" if self.bare else
                 f"  kubernetes  {self.api_url}   (kubeconfig {self.kubeconfig_path})",
                 f"  postgresql  127.0.0.1:{self.pg_port}  user {DB_USER}, password in {self.env_path}",
                 f"  domain      {self.fqdn} -> {self._lb_address()}",
                 f"  answers     {self.answers_path}"]
        for name in ("upstream", "mirror"):
            found = self.registry(name) if self.with_registry else None
            if found is not None:
                rows.append(f"  {name:11} {found.url}" + (f"  user {found.user}, password in {self.env_path}"
                                                          if found.user else "  (images as <host>/<path>:<tag>)"))
        return "\n".join(rows)
