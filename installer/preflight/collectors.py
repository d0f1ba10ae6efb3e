"""Collectors gather facts once per source (one SSH session per node, one API client, one database login).

They never judge; analyzers.py turns facts into pass / warn / fail. A collector that cannot reach its
source records why, so the analyzers can fail the right check and skip the rest of that source.
"""
from __future__ import annotations

import re
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer.preflight.catalogue import REQUIRED_ACCESS

COMMAND_TIMEOUT = 30.0
MARK = "@@digit-preflight "


@dataclass
class NodeTarget:
    name: str
    host: str
    port: int
    user: str
    role: str
    data_paths: list[str]


@dataclass
class NodeFacts:
    target: NodeTarget
    error: str | None = None
    error_kind: str | None = None  # host_key_unknown | host_key_changed | unreachable | auth | command
    fingerprint: str | None = None
    expected_fingerprint: str | None = None  # the trusted (pinned or known_hosts) key, when it changed
    sections: dict[str, str] = field(default_factory=dict)
    clock_skew_s: float | None = None
    clock_uncertainty_s: float | None = None
    duration_s: float = 0.0


def node_script(data_paths: list[str], fqdn: str) -> str:
    """One shell script that prints every node fact in marked sections (LC_ALL=C for stable output)."""
    paths = " ".join(shlex.quote(p) for p in data_paths) or "/"
    sections = [
        ("os", "cat /etc/os-release 2>/dev/null"),
        ("kernel", "uname -r"),
        ("cpus", "nproc"),
        ("memory", "free -b"),
        ("swap", "swapon --show --noheadings --bytes 2>/dev/null"),
        ("max_map_count", "sysctl -n vm.max_map_count 2>/dev/null"),
        ("modules", "lsmod 2>/dev/null; cat /lib/modules/$(uname -r)/modules.builtin 2>/dev/null"),
        ("machine_id", "cat /etc/machine-id 2>/dev/null"),
        ("sudo", "sudo -n true 2>&1 && echo __sudo_ok__"),
        ("product_uuid", "sudo -n cat /sys/class/dmi/id/product_uuid 2>/dev/null"),
        ("listen", "ss -Htln 2>/dev/null"),
        ("disk", f"df -P -B1 {paths} 2>&1"),
        ("dns", f"getent hosts {shlex.quote(fqdn)} 2>/dev/null"),
        # RKE2 installed by this installer (provision's mark): its own ports are then expected to be held.
        ("rke2", "test -f /var/lib/rancher/digit-installer/installed-sha256sum-amd64.txt && echo installed"),
        ("hostname", "hostname"),
        ("route", "ip -4 route show default 2>/dev/null"),
        ("time_sync", "timedatectl show -p NTPSynchronized --value 2>/dev/null || "
                      "chronyc tracking 2>/dev/null | grep -i '^Leap status'"),
        ("rancher_disk", "d=/var/lib/rancher; while [ ! -e \"$d\" ]; do d=$(dirname \"$d\"); done; df -P -B1 \"$d\""),
    ]
    lines = ["export LC_ALL=C"]
    for name, command in sections:
        lines.append(f"echo '{MARK}{name}'; {{ {command}; }} || true")
    lines.append(f"echo '{MARK}end'")
    return "\n".join(lines) + "\n"


def parse_sections(output: str) -> dict[str, str]:
    sections: dict[str, str] = {}
    current: str | None = None
    buffer: list[str] = []
    for line in output.splitlines():
        if line.startswith(MARK):
            if current is not None:
                sections[current] = "\n".join(buffer).strip()
            current, buffer = line[len(MARK):].strip(), []
        elif current is not None:
            buffer.append(line)
    if current is not None:
        sections[current] = "\n".join(buffer).strip()
    return sections


def collect_node(target: NodeTarget, private_key: Any, policy: Any, fqdn: str, timeout: float,
                 command_timeout: float = COMMAND_TIMEOUT) -> NodeFacts:
    from installer.adapters.ssh import HostKeyError, SSHError, connect

    facts = NodeFacts(target=target)
    started = time.monotonic()
    try:
        with connect(target.host, target.port, target.user, private_key, policy, timeout=timeout) as session:
            before = time.time()
            clock = session.run("date +%s.%N", timeout=timeout)
            after = time.time()
            try:
                remote = float(clock.stdout.strip())
                facts.clock_skew_s = remote - (before + after) / 2
                facts.clock_uncertainty_s = (after - before) / 2
            except ValueError:
                pass
            result = session.run(node_script(target.data_paths, fqdn), timeout=command_timeout)
            facts.sections = parse_sections(result.stdout)
            if "end" not in facts.sections:
                facts.error, facts.error_kind = f"facts script ended early: {result.stderr.strip()[:200]}", "command"
    except HostKeyError as exc:
        facts.fingerprint = exc.fingerprint
        facts.expected_fingerprint = exc.expected
        facts.error, facts.error_kind = str(exc), f"host_key_{exc.kind}"
    except SSHError as exc:
        text = str(exc)
        facts.error = text
        facts.error_kind = "auth" if "refused the SSH key" in text or "authentication" in text else "unreachable"
    facts.duration_s = time.monotonic() - started
    return facts


@dataclass
class ClusterFacts:
    context: str
    server: str = ""
    error: str | None = None
    version: str | None = None
    nodes: list[dict[str, Any]] | None = None
    nodes_error: str | None = None
    storage_classes: list[dict[str, Any]] | None = None
    storage_error: str | None = None
    access: list[dict[str, Any]] | None = None
    access_error: str | None = None
    namespaces: dict[str, dict[str, str]] | None = None
    helm_releases: list[dict[str, str]] | None = None
    existing_error: str | None = None


def _api_message(exc: Any) -> str:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None)
    if status:
        return f"HTTP {status} {reason or ''}".strip()
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        detail = re.search(r"certificate verify failed: ([^(\'\"]+)", text)
        return ("TLS certificate not trusted" + (f" ({detail[1].strip()})" if detail else "")
                + ": the kubeconfig's certificate-authority must have signed the API server's certificate")
    return text.splitlines()[0] if text else type(exc).__name__


def collect_cluster(kubeconfig: Path, context: str | None, timeout: float, namespaces_of_interest: set[str]) -> ClusterFacts:
    from installer.adapters.kube import KubeConfigError, connect, parse_quantity

    facts = ClusterFacts(context=context or "current-context")
    try:
        cluster = connect(kubeconfig, context, timeout=timeout)
    except KubeConfigError as exc:
        facts.error = str(exc)
        return facts
    facts.server = cluster.server
    try:
        facts.version = cluster.version()
    except Exception as exc:  # not reachable, TLS refused, HTTP errors: the API is not usable
        message = _api_message(exc)
        facts.error = message if facts.server in message else f"{facts.server}: {message}"
        return facts
    try:
        facts.nodes = []
        for node in cluster.list("Node"):
            status = node.get("status") or {}
            ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
            allocatable = status.get("allocatable") or {}
            facts.nodes.append({
                "name": node["metadata"]["name"],
                "ready": bool(ready and ready.get("status") == "True"),
                "reason": (ready.get("reason") if ready else "no Ready condition") or "",
                "cpu": parse_quantity(allocatable.get("cpu", "0")),
                "memory": parse_quantity(allocatable.get("memory", "0")),
            })
    except Exception as exc:
        facts.nodes, facts.nodes_error = None, _api_message(exc)
    try:
        facts.storage_classes = [
            {"name": sc["metadata"]["name"],
             "default": (sc["metadata"].get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true"}
            for sc in cluster.list("StorageClass")
        ]
    except Exception as exc:
        facts.storage_error = _api_message(exc)
    try:
        facts.access = [{"verb": verb, "group": group, "resource": resource,
                         "allowed": cluster.allowed(verb, group, resource)}
                        for verb, group, resource in REQUIRED_ACCESS]
    except Exception as exc:
        facts.access, facts.access_error = None, _api_message(exc)
    try:
        facts.namespaces = {
            ns["metadata"]["name"]: dict(ns["metadata"].get("labels") or {})
            for ns in cluster.list("Namespace") if ns["metadata"]["name"] in namespaces_of_interest
        }
        facts.helm_releases = []
        for secret in cluster.list("Secret", label_selector="owner=helm"):
            labels = secret["metadata"].get("labels") or {}
            facts.helm_releases.append({"namespace": secret["metadata"].get("namespace", ""),
                                        "name": labels.get("name", ""), "status": labels.get("status", "")})
    except Exception as exc:
        facts.existing_error = _api_message(exc)
    return facts


@dataclass
class DatabaseFacts:
    address: str
    reachable_error: str | None = None
    auth_error: str | None = None
    auth_kind: str | None = None
    version_num: int | None = None
    version: str | None = None
    database_exists: bool | None = None
    can_create: bool | None = None
    create_via: str | None = None
    other_error: str | None = None
    # The application user does not exist yet and the admin login can create it (the database step will).
    user_created_by: str | None = None


def collect_database(host: str, port: int, user: str, password: str | None, dbname: str, sslmode: str,
                     timeout: float, admin_user: str | None = None, admin_password: str | None = None) -> DatabaseFacts:
    from installer.adapters.postgres import DatabaseError, connect, tcp_reachable

    facts = DatabaseFacts(address=f"{host}:{port}")
    try:
        tcp_reachable(host, port, timeout)
    except DatabaseError as exc:
        facts.reachable_error = str(exc)
        return facts
    conn = None
    try:
        try:
            conn = connect(host, port, user, password or "", dbname, sslmode, timeout)
            facts.database_exists = True
        except DatabaseError as exc:
            if exc.kind != "no-database":
                raise
            facts.database_exists = False
            conn = connect(host, port, user, password or "", "postgres", sslmode, timeout)
        facts.version_num = int(conn.setting("server_version_num"))
        facts.version = conn.setting("server_version")
        facts.can_create = conn.can_create_databases()
        facts.create_via = user if facts.can_create else None
    except DatabaseError as exc:
        if exc.kind == "unreachable":
            facts.reachable_error = str(exc)
        else:
            facts.auth_error, facts.auth_kind = str(exc), exc.kind
            if exc.kind == "auth" and admin_user:
                _through_admin(facts, host, port, user, dbname, sslmode, timeout, admin_user, admin_password)
        return facts
    except Exception as exc:
        facts.other_error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return facts
    finally:
        if conn is not None:
            conn.close()
    if not facts.database_exists and not facts.can_create and admin_user:
        try:
            admin = connect(host, port, admin_user, admin_password or "", "postgres", sslmode, timeout)
            with admin:
                admin_can_create = admin.can_create_databases()
            if admin_can_create:
                facts.can_create, facts.create_via = True, admin_user
        except DatabaseError as exc:
            facts.other_error = f"admin login as {admin_user}: {exc}"
    return facts


def _through_admin(facts: DatabaseFacts, host: str, port: int, user: str, dbname: str, sslmode: str, timeout: float,
                   admin_user: str, admin_password: str | None) -> None:
    """The application user cannot log in: when it does not exist yet and the admin login can create
    it, that is what the database step will do, not a failure that blocks the step."""
    from installer.adapters.postgres import DatabaseError, connect

    try:
        with connect(host, port, admin_user, admin_password or "", "postgres", sslmode, timeout) as admin:
            if admin.role_exists(user):
                return  # it exists: its own login failing is the failure to report
            if not admin.can_create_roles():
                facts.auth_error = (f"{facts.auth_error}; user {user} does not exist and {admin_user} "
                                    "lacks CREATEROLE to create it")
                return
            facts.version_num = int(admin.setting("server_version_num"))
            facts.version = admin.setting("server_version")
            facts.database_exists = admin.database_exists(dbname)
            facts.can_create = facts.database_exists or admin.can_create_databases()
            facts.create_via = admin_user
            facts.user_created_by = admin_user
            facts.auth_error = facts.auth_kind = None
    except DatabaseError as exc:
        facts.auth_error = f"{facts.auth_error}; admin login as {admin_user}: {exc}"


@dataclass
class DomainFacts:
    fqdn: str
    addresses: list[str] | None = None
    resolve_error: str | None = None
    tls_mode: str = ""
    cert_error: str | None = None
    cert_names: list[str] = field(default_factory=list)
    cert_not_after: float | None = None  # epoch seconds
    key_matches: bool | None = None
    key_error: str | None = None


def resolve(name: str, timeout: float) -> list[str]:
    """Addresses for a name, from the jump host's resolver, giving up after `timeout` seconds."""
    result: dict[str, Any] = {}

    def lookup() -> None:
        try:
            result["addresses"] = sorted({info[4][0] for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)})
        except OSError as exc:
            result["error"] = exc

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no answer for {name} within {timeout:g}s")
    if "error" in result:
        raise result["error"]
    addresses: list[str] = result["addresses"]
    return addresses


def collect_domain(fqdn: str, tls_mode: str, cert_path: Path | None, key_pem: str | None, timeout: float) -> DomainFacts:
    facts = DomainFacts(fqdn=fqdn, tls_mode=tls_mode)
    try:
        facts.addresses = resolve(fqdn, timeout)
    except (OSError, TimeoutError) as exc:
        facts.resolve_error = getattr(exc, "strerror", None) or str(exc)
    if tls_mode != "provided" or cert_path is None:
        return facts
    from cryptography.hazmat.primitives import serialization

    from installer.tls import CertificateError, certificate_names, load_certificate

    try:
        cert = load_certificate(Path(cert_path))
    except CertificateError as exc:
        facts.cert_error = str(exc)
        return facts
    facts.cert_names = certificate_names(cert)
    facts.cert_not_after = cert.not_valid_after_utc.timestamp()
    if key_pem is None:
        facts.key_error = "the private key is not available"
        return facts
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        facts.key_matches = (key.public_key().public_bytes(serialization.Encoding.DER, public)
                             == cert.public_key().public_bytes(serialization.Encoding.DER, public))
    except (ValueError, TypeError) as exc:
        facts.key_error = f"the private key cannot be read: {exc}"
    return facts
