"""Analyzers: turn collected facts into pass / warn / fail with the measured value, the requirement and a remediation."""
from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

from installer import tls
from installer.preflight import catalogue as cat
from installer.preflight.collectors import ClusterFacts, DatabaseFacts, DomainFacts, NodeFacts
from installer.preflight.model import CheckResult

GIB = 1024 ** 3
GB = 1000 ** 3


class Results:
    """Collects results for the selected checks only; a violation takes the check's catalogue severity."""

    def __init__(self, selected: set[str], fmt: dict[str, Any] | None = None) -> None:
        self.selected = selected
        self.items: list[CheckResult] = []
        self.fmt = fmt or {}

    def add(self, check_id: str, ok: bool | None, target: str, measured: Any, required: Any, message: str = "",
            severity: str | None = None, remediation: str | None = None, **details: Any) -> None:
        if check_id not in self.selected:
            return
        check = cat.CATALOGUE[check_id]
        status = "pass" if ok else (severity or check.severity)
        if ok is None:
            status = "skip"
        text = remediation if remediation is not None else check.remediation
        try:
            text = text.format(**self.fmt)
        except (KeyError, IndexError):
            pass
        if message and message != str(measured):
            details["note"] = message
        if status == "skip":
            sentence = message
        elif details.get("note"):
            sentence = f"{message}: measured {measured}, required {required}"
        else:
            sentence = f"measured {measured}, required {required}"
        self.items.append(CheckResult(
            id=check_id, status=status, target=target, measured=str(measured), required=str(required),
            # a skipped check has nothing to fix itself: its message says why it was not checked
            message=sentence, remediation="" if status in ("pass", "skip") else text, details=details,
        ))

    def skip(self, check_id: str, target: str, why: str) -> None:
        self.add(check_id, None, target, "-", "-", why)


# --- parsing helpers ------------------------------------------------------------------------------
def parse_os_release(text: str) -> tuple[str, str, str]:
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values.get("ID", "").lower(), values.get("VERSION_ID", ""), values.get("PRETTY_NAME", "")


def parse_kernel(text: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", text.strip())
    return (int(match[1]), int(match[2])) if match else None


def parse_free_total(text: str) -> int | None:
    for line in text.splitlines():
        if line.startswith("Mem:"):
            parts = line.split()
            return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return None


def parse_swap(text: str) -> int:
    total = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2].isdigit():
            total += int(parts[2])
        elif parts:
            total += 1
    return total


def parse_modules(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        first = line.split()[0] if line.split() else ""
        if not first or first == "Module":
            continue
        base = first.rsplit("/", 1)[-1]
        names.add(re.sub(r"\.ko(\.[a-z]+)?$", "", base).replace("-", "_"))
    return names


def parse_listen_ports(text: str) -> set[int]:
    ports = set()
    for line in text.splitlines():
        parts = line.split()
        local = next((p for p in parts if re.search(r":\d+$", p)), None)
        if local:
            ports.add(int(local.rsplit(":", 1)[1]))
    return ports


def parse_df(text: str) -> dict[str, int]:
    free = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[3].isdigit():
            free[parts[5] if len(parts) == 6 else parts[-1]] = int(parts[3])
    return free


def parse_getent(text: str) -> list[str]:
    return sorted({line.split()[0] for line in text.splitlines() if line.split()})


def _gib(value: float) -> str:
    return f"{value / GIB:.1f} GiB"


# --- nodes ----------------------------------------------------------------------------------------
def analyze_nodes(all_facts: list[NodeFacts], results: Results, profile: Any, target_kind: str,
                  jump_addresses: list[str] | None, pinned: dict[str, str], known_hosts: Any) -> None:
    reachable = [f for f in all_facts if f.error is None]
    machine_ids = Counter(f.sections.get("machine_id", "").strip() for f in reachable if f.sections.get("machine_id"))
    hostnames: dict[str, list[str]] = {}
    for found in reachable:
        if found.sections.get("hostname", "").strip():
            hostnames.setdefault(found.sections["hostname"].strip(), []).append(found.target.name)
    uuids = Counter(f.sections.get("product_uuid", "").strip().lower() for f in reachable if f.sections.get("product_uuid"))
    for facts in all_facts:
        node = facts.target
        name = node.name
        results.fmt = {"user": node.user, "port": node.port, "host": node.host}
        trusted = pinned.get(node.host) or pinned.get(f"{node.host}:{node.port}") or (
            f"entry in {known_hosts}" if known_hosts else "a pinned fingerprint or a known_hosts entry")
        if facts.error_kind == "crashed":
            # The collector failed before or during the handshake: nothing was checked, nothing passes.
            results.skip("node.host_key", name, f"not checked: {facts.error}")
            results.add("node.ssh", False, name, facts.error, f"{node.user}@{node.host}:{node.port} with the key",
                        facts.error or "")
            for check in _node_checks():
                if check not in ("node.host_key", "node.ssh"):
                    results.skip(check, name, "not checked: SSH failed")
            continue
        if facts.error_kind in ("host_key_revoked", "host_key_ca-unsupported"):
            results.add("node.host_key", False, name, facts.fingerprint, trusted, facts.error or "",
                        remediation=("Do not connect: known_hosts revokes this key. Find out why on the machine's "
                                     "console before trusting any key for it."
                                     if facts.error_kind == "host_key_revoked" else
                                     cat.CATALOGUE["node.host_key"].remediation),
                        fingerprint=facts.fingerprint, host=node.host, port=node.port)
            for check in _node_checks():
                if check != "node.host_key":
                    results.skip(check, name, "not checked: the host key is not trusted")
            continue
        if facts.error_kind in ("host_key_unknown", "host_key_changed"):
            changed = facts.error_kind == "host_key_changed"
            old = facts.expected_fingerprint or trusted
            results.add("node.host_key", False, name, facts.fingerprint, old if changed else trusted,
                        # the sentence adds "measured <new>, required <old>": each key named once
                        ("host key CHANGED (the node presents a key other than the trusted one)"
                         if changed else f"unknown host key, refused: {facts.fingerprint}"),
                        remediation=(cat.CATALOGUE["node.host_key"].remediation if not changed else
                                     "Do not connect until you know why the key changed (reinstalled machine, or "
                                     "interception). After checking on the console, update target.ssh.host_keys."),
                        fingerprint=facts.fingerprint, host=node.host, port=node.port)
            for check in _node_checks():
                if check != "node.host_key":
                    results.skip(check, name, "not checked: the host key is not trusted")
            continue
        if facts.error_kind in ("unreachable", "auth"):
            if facts.error_kind == "unreachable":
                results.skip("node.host_key", name, "not checked: no SSH handshake")
            else:
                results.add("node.host_key", True, name, "trusted", trusted)
            results.add("node.ssh", False, name, facts.error, f"{node.user}@{node.host}:{node.port} with the key",
                        facts.error or "")
            for check in _node_checks():
                if check not in ("node.host_key", "node.ssh"):
                    results.skip(check, name, "not checked: SSH failed")
            continue
        results.add("node.host_key", True, name, "trusted", trusted)
        if facts.error:
            results.add("node.ssh", False, name, facts.error, "the facts script runs", facts.error)
            continue
        results.add("node.ssh", True, name, f"{node.user}@{node.host}:{node.port}", "reachable, key accepted",
                    f"facts in {facts.duration_s:.2f}s")
        s = facts.sections
        sudo_ok = "__sudo_ok__" in s.get("sudo", "")
        results.add("node.sudo", sudo_ok, name, "yes" if sudo_ok else (s.get("sudo", "").strip() or "no"),
                    "sudo -n true succeeds")

        os_id, version, pretty = parse_os_release(s.get("os", ""))
        supported = cat.SUPPORTED_OS.get(os_id, ())
        os_ok = any(version == v or version.split(".")[0] == v for v in supported)
        results.add("node.os", os_ok, name, pretty or f"{os_id} {version}".strip() or "unknown",
                    "Ubuntu 20.04-24.04, Debian 11-12, RHEL/Rocky/Alma 8-9")
        kernel = parse_kernel(s.get("kernel", ""))
        results.add("node.kernel", kernel is not None and kernel >= cat.MIN_KERNEL, name, s.get("kernel", "?"),
                    f">= {cat.MIN_KERNEL[0]}.{cat.MIN_KERNEL[1]}")

        spec = profile.requirement_for(node.role) if profile is not None else None
        cpus = int(s["cpus"]) if s.get("cpus", "").strip().isdigit() else None
        memory = parse_free_total(s.get("memory", ""))
        if spec is None:
            for check in ("node.cpu", "node.memory", "node.disk"):
                results.skip(check, name, f"the sizing profile has no requirement for role {node.role}")
        else:
            results.add("node.cpu", cpus is not None and cpus >= spec.vcpu, name,
                        f"{cpus} vCPU" if cpus is not None else "unknown", f">= {spec.vcpu} vCPU ({node.role})")
            results.add("node.memory", memory is not None and memory >= spec.memory_gb * GIB * cat.MEMORY_ALLOWANCE,
                        name, _gib(memory) if memory is not None else "unknown", f">= {spec.memory_gb} GiB ({node.role})")
            free = parse_df(s.get("disk", ""))
            need = spec.disk_gb * GB * cat.DISK_FREE_SHARE
            for path in node.data_paths:
                avail = free.get(path)
                results.add("node.disk", avail is not None and avail >= need, f"{name}:{path}",
                            f"{avail / GB:.0f} GB free" if avail is not None else "path not found",
                            f">= {need / GB:.0f} GB free ({node.role}, {spec.disk_gb} GB disk)")
        swap = parse_swap(s.get("swap", ""))
        results.add("node.swap", swap == 0, name, "off" if swap == 0 else f"on ({_gib(swap)})", "off")
        mmc = s.get("max_map_count", "").strip()
        results.add("node.max_map_count", mmc.isdigit() and int(mmc) >= cat.MIN_MAX_MAP_COUNT, name,
                    mmc or "unknown", f">= {cat.MIN_MAX_MAP_COUNT}")
        if facts.clock_skew_s is None:
            results.add("node.clock", False, name, "unknown", f"within {cat.CLOCK_FAIL_S:g}s", "date +%s.%N failed")
        else:
            skew = abs(facts.clock_skew_s) - (facts.clock_uncertainty_s or 0)
            measured = f"{facts.clock_skew_s:+.2f}s (±{facts.clock_uncertainty_s or 0:.2f}s)"
            required = f"within {cat.CLOCK_WARN_S:g}s (fails beyond {cat.CLOCK_FAIL_S:g}s)"
            if skew <= cat.CLOCK_WARN_S:
                results.add("node.clock", True, name, measured, required)
            else:
                results.add("node.clock", False, name, measured, required,
                            severity="fail" if skew > cat.CLOCK_FAIL_S else "warn")
        modules = parse_modules(s.get("modules", ""))
        missing = [m for m in cat.REQUIRED_MODULES if m not in modules]
        results.add("node.kernel_modules", not missing, name,
                    "loaded" if not missing else f"missing {', '.join(missing)}", ", ".join(cat.REQUIRED_MODULES))
        machine_id = s.get("machine_id", "").strip()
        uuid = s.get("product_uuid", "").strip().lower()
        clashes = []
        if not machine_id:
            clashes.append("no /etc/machine-id")
        elif machine_ids[machine_id] > 1:
            clashes.append(f"machine-id {machine_id} shared by {machine_ids[machine_id]} nodes")
        if uuid and uuids[uuid] > 1:
            clashes.append(f"product_uuid {uuid} shared by {uuids[uuid]} nodes")
        results.add("node.machine_id", not clashes, name, "; ".join(clashes) or machine_id,
                    "unique across nodes")
        if target_kind == "sdc-vms":
            busy = sorted(set(cat.REQUIRED_PORTS.get(node.role, ())) & parse_listen_ports(s.get("listen", "")))
            wanted = ", ".join(map(str, cat.REQUIRED_PORTS.get(node.role, ())))
            if busy and s.get("rke2", "").strip() == "installed":
                results.add("node.ports", True, name, f"held by RKE2 this installer installed: "
                            f"{', '.join(map(str, busy))}", f"free: {wanted}, or held by this install's RKE2")
            else:
                results.add("node.ports", not busy, name,
                            "free" if not busy else f"in use: {', '.join(map(str, busy))}", f"free: {wanted}")
            _rke2_host_checks(results, name, s, hostnames)
        addresses = parse_getent(s.get("dns", ""))
        if not addresses:
            results.add("node.dns", False, name, "does not resolve", "resolves")
        elif jump_addresses and not set(addresses) & set(jump_addresses):
            results.add("node.dns", False, name, ", ".join(addresses),
                        f"same as from the jump host ({', '.join(jump_addresses)})",
                        "the node and the jump host see different addresses", severity="warn")
        else:
            results.add("node.dns", True, name, ", ".join(addresses), "resolves")


def _rke2_host_checks(results: Results, name: str, s: dict[str, str], hostnames: dict[str, list[str]]) -> None:
    """What RKE2 needs of a bare VM: its own host name, a default route, synchronised time, room for images."""
    hostname = s.get("hostname", "").strip()
    sharing = [n for n in hostnames.get(hostname, []) if n != name]
    results.add("node.hostname", bool(hostname) and not sharing, name,
                f"{hostname} (also on {', '.join(sharing)})" if sharing else hostname or "unknown",
                "a host name no other node has")
    route = s.get("route", "").strip()
    results.add("node.default_route", route.startswith("default"), name, route.splitlines()[0] if route else "none",
                "a default route")
    sync = s.get("time_sync", "").strip().lower()
    if not sync:
        results.add("node.time_sync", False, name, "unknown (neither timedatectl nor chronyc answered)",
                    "NTP synchronised", severity="warn")
    else:
        synced = sync == "yes" or ("leap status" in sync and "normal" in sync)
        results.add("node.time_sync", synced, name, "synchronised" if synced else f"not synchronised ({sync})",
                    "NTP synchronised")
    free = parse_df(s.get("rancher_disk", ""))
    avail = next(iter(free.values()), None)
    need = cat.RANCHER_MIN_FREE_GB * GB
    results.add("node.rancher_disk", avail is not None and avail >= need, name,
                f"{avail / GB:.0f} GB free" if avail is not None else "unknown",
                f">= {cat.RANCHER_MIN_FREE_GB} GB free under /var/lib/rancher")


def _node_checks() -> list[str]:
    return [cid for cid, check in cat.CATALOGUE.items() if check.source == "node"]


# --- cluster --------------------------------------------------------------------------------------
def _minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"v?(\d+)\.(\d+)", version or "")
    return (int(match[1]), int(match[2])) if match else None


def analyze_cluster(facts: ClusterFacts, results: Results, profile: Any, storage_class: str | None,
                    digit_namespaces: set[str], install: str = "", take_over: str | None = None) -> None:
    target = facts.context
    if facts.error:
        results.add("k8s.api", False, target, facts.error, "API answers /version")
        for cid, check in cat.CATALOGUE.items():
            if check.source == "cluster" and cid != "k8s.api":
                results.skip(cid, target, "not checked: the API is not reachable")
        return
    results.add("k8s.api", True, target, facts.server, "API answers /version")
    (lo_major, lo_minor), (hi_major, hi_minor) = cat.SUPPORTED_K8S
    minor = _minor(facts.version or "")
    results.add("k8s.version", minor is not None and cat.SUPPORTED_K8S[0] <= minor <= cat.SUPPORTED_K8S[1], target,
                facts.version, f"{lo_major}.{lo_minor} to {hi_major}.{hi_minor}")
    if facts.nodes is None:
        results.add("k8s.nodes_ready", False, target, facts.nodes_error, "nodes can be listed")
        results.skip("k8s.capacity", target, "not checked: nodes cannot be listed")
    else:
        not_ready = [f"{n['name']} ({n['reason'] or 'NotReady'})" for n in facts.nodes if not n["ready"]]
        results.add("k8s.nodes_ready", bool(facts.nodes) and not not_ready, target,
                    f"{len(facts.nodes) - len(not_ready)}/{len(facts.nodes)} Ready"
                    + (f"; not ready: {', '.join(not_ready)}" if not_ready else ""), "every node Ready")
        ready = [n for n in facts.nodes if n["ready"]]
        cpu = sum(n["cpu"] for n in ready)
        memory = sum(n["memory"] for n in ready)
        spec = profile.node("worker") if profile is not None else None
        if spec is None:
            results.skip("k8s.capacity", target, "the sizing profile has no worker requirement")
        else:
            need_cpu, need_mem = spec.count * spec.vcpu, spec.count * spec.memory_gb * GIB * cat.MEMORY_ALLOWANCE
            results.add("k8s.capacity", cpu >= need_cpu and memory >= need_mem, target,
                        f"{cpu:g} CPU, {_gib(memory)} allocatable on {len(ready)} Ready nodes",
                        f">= {need_cpu} CPU, {spec.count * spec.memory_gb} GiB ({spec.count} x {spec.vcpu} vCPU / "
                        f"{spec.memory_gb} GiB workers)")
    if facts.storage_classes is None:
        results.add("k8s.default_storageclass", False, target, facts.storage_error, "StorageClasses can be listed")
    else:
        names = [sc["name"] for sc in facts.storage_classes]
        defaults = [sc["name"] for sc in facts.storage_classes if sc["default"]]
        if storage_class:
            results.add("k8s.default_storageclass", storage_class in names, target,
                        f"{storage_class} {'exists' if storage_class in names else 'missing'}"
                        f" (classes: {', '.join(names) or 'none'})", f"StorageClass {storage_class} (target.storage_class)")
        elif len(defaults) == 1:
            results.add("k8s.default_storageclass", True, target, f"default: {defaults[0]}", "one default StorageClass")
        elif not defaults:
            results.add("k8s.default_storageclass", False, target,
                        f"no default (classes: {', '.join(names) or 'none'})", "one default StorageClass")
        else:
            results.add("k8s.default_storageclass", False, target, f"several defaults: {', '.join(defaults)}",
                        "one default StorageClass", "Kubernetes picks among several defaults unpredictably",
                        severity="warn")
    if facts.access is None:
        results.add("k8s.permissions", False, target, facts.access_error, "SelfSubjectAccessReview answers")
    else:
        denied = [f"{a['verb']} {a['resource']}" for a in facts.access if not a["allowed"]]
        results.add("k8s.permissions", not denied, target,
                    "all allowed" if not denied else f"denied: {', '.join(denied)}",
                    f"{len(facts.access)} verbs on namespaces, secrets, workloads, ingresses, RBAC")
    if facts.namespaces is None:
        results.add("k8s.existing_install", False, target, facts.existing_error, "namespaces can be listed")
    else:
        ours = {ns for ns, labels in facts.namespaces.items()
                if labels.get("app.kubernetes.io/managed-by") == "digit-installer"}
        # Made by this installer is not enough: by this install (its answers `name`) is what makes it ours.
        others: dict[str, list[str]] = {}
        for ns in sorted(ours):
            owner = facts.namespaces[ns].get("digit-installer/install")
            if owner and install and owner not in (install, take_over):
                others.setdefault(owner, []).append(ns)
        if others:
            owner, names = min(others.items())
            results.add("k8s.existing_install", False, target,
                        "; ".join(f"install '{o}' owns namespaces {', '.join(n)}" for o, n in sorted(others.items())),
                        f"no other install's namespaces (this is '{install}')",
                        f"another install of this installer, '{owner}', owns this cluster's DIGIT namespaces",
                        severity="fail",
                        remediation=f"Use another cluster, or, to take over install '{owner}' on purpose, set "
                                    f"target.take_over_install: {owner} in the answers file.")
            return
        foreign_ns = sorted(set(facts.namespaces) - ours)
        releases = [r for r in (facts.helm_releases or []) if r["namespace"] in digit_namespaces]
        foreign_releases = sorted({f"{r['namespace']}/{r['name']}" for r in releases if r["namespace"] not in ours})
        if foreign_ns or foreign_releases:
            measured = "; ".join(filter(None, [
                f"namespaces not made by this installer: {', '.join(foreign_ns)}" if foreign_ns else "",
                f"Helm releases: {', '.join(foreign_releases[:8])}" if foreign_releases else "",
            ]))
            results.add("k8s.existing_install", False, target, measured, "no foreign DIGIT install")
        elif ours:
            results.add("k8s.existing_install", True, target,
                        f"this installer's install found ({', '.join(sorted(ours))}): a rerun", "no foreign DIGIT install")
        else:
            results.add("k8s.existing_install", True, target, "no DIGIT install", "no foreign DIGIT install")


# --- database -------------------------------------------------------------------------------------
def analyze_database(facts: DatabaseFacts, results: Results, user: str, dbname: str) -> None:
    target = facts.address
    results.fmt = {}
    if facts.reachable_error:
        results.add("db.reachable", False, target, facts.reachable_error, "TCP connection opens")
        for cid in ("db.auth", "db.version", "db.database"):
            results.skip(cid, target, "not checked: the database is not reachable")
        return
    results.add("db.reachable", True, target, "TCP open", "TCP connection opens")
    if facts.auth_error or (facts.other_error and facts.version is None):
        results.add("db.auth", False, target, facts.auth_error or facts.other_error, f"login as {user}")
        for cid in ("db.version", "db.database"):
            results.skip(cid, target, "not checked: login failed")
        return
    if facts.user_created_by:
        results.add("db.auth", True, target, f"{user} will be created by {facts.user_created_by} (admin login works)",
                    f"login as {user}")
    else:
        results.add("db.auth", True, target, f"logged in as {user}", f"login as {user}")
    major = (facts.version_num or 0) // 10000
    low, high = cat.SUPPORTED_POSTGRES
    if major < low:
        results.add("db.version", False, target, facts.version, f"PostgreSQL {low} to {high}")
    elif major > high:
        results.add("db.version", False, target, facts.version, f"PostgreSQL {low} to {high}",
                    "newer than tested; DIGIT's migrations may work", severity="warn")
    else:
        results.add("db.version", True, target, facts.version, f"PostgreSQL {low} to {high}")
    if facts.database_exists:
        results.add("db.database", True, target, f"{dbname} exists", f"{dbname} exists or can be created")
    elif facts.can_create:
        results.add("db.database", True, target, f"{dbname} will be created by {facts.create_via}",
                    f"{dbname} exists or can be created")
    else:
        results.add("db.database", False, target,
                    f"{dbname} missing and {user} lacks CREATEDB" + (f" ({facts.other_error})" if facts.other_error else ""),
                    f"{dbname} exists or can be created")


# --- domain ---------------------------------------------------------------------------------------
def analyze_domain(facts: DomainFacts, results: Results, now: float | None = None,
                   load_balancer: tuple[str, list[str]] | None = None) -> None:
    """load_balancer: (its address as written, the addresses it resolves to) when the answers name one."""
    fqdn = facts.fqdn
    results.fmt = {}
    if facts.resolve_error or not facts.addresses:
        results.add("domain.resolves", False, fqdn, facts.resolve_error or "no addresses", "resolves on the jump host")
    elif load_balancer and not set(facts.addresses) & set(load_balancer[1]):
        results.add("domain.resolves", False, fqdn, ", ".join(facts.addresses),
                    f"resolves to the load balancer {load_balancer[0]}",
                    "the domain does not point at the load balancer",
                    remediation=f"Point the DNS record of {fqdn} at the load balancer {load_balancer[0]}.")
    else:
        required = f"resolves to the load balancer {load_balancer[0]}" if load_balancer else "resolves on the jump host"
        results.add("domain.resolves", True, fqdn, ", ".join(facts.addresses), required)
    if facts.tls_mode != "provided":
        return
    if facts.cert_error:
        results.add("domain.cert_name", False, fqdn, facts.cert_error, "a readable PEM certificate")
        results.skip("domain.cert_key", fqdn, "not checked: the certificate cannot be read")
        results.skip("domain.cert_expiry", fqdn, "not checked: the certificate cannot be read")
        return
    results.add("domain.cert_name", tls.covers(facts.cert_names, fqdn), fqdn,
                ", ".join(facts.cert_names) or "no names", f"covers {fqdn}")
    if facts.key_error:
        results.add("domain.cert_key", False, fqdn, facts.key_error, "the certificate's key")
    else:
        results.add("domain.cert_key", bool(facts.key_matches), fqdn,
                    "matches" if facts.key_matches else "a different key", "the certificate's key")
    now = time.time() if now is None else now
    days = ((facts.cert_not_after or 0) - now) / 86400
    # the verdict compares the whole days the message shows (a certificate made for 30 days is
    # "valid for 30 more days" a second later, and must not fail a 30-day limit)
    shown = round(days)
    results.add("domain.cert_expiry", shown >= cat.CERT_MIN_DAYS, fqdn,
                f"expires in {shown} days" if days >= 0 else f"expired {-shown} days ago",
                f">= {cat.CERT_MIN_DAYS} days")
