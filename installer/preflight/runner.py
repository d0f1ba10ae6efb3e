"""Runs the collectors (in parallel, bounded) and the analyzers for one answers file."""
from __future__ import annotations

import functools
import threading
import time
from pathlib import Path
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any
from collections.abc import Callable

from installer import redact
from installer.preflight import analyzers, collectors
from installer.preflight.catalogue import CATALOGUE, select
from installer.preflight.model import Report

# Node probes wait on the network, not on this machine: over 30 ms links one takes about a second
# while costing the installer ~10 ms of CPU (tests/bench/preflight_bench.py). A bound of 10 made
# 50 nodes take five rounds (4.5x one node); 64 covers a state data centre's nodes in one round.
DEFAULT_CONCURRENCY = 64
CLUSTER_TIMEOUT = 10.0
DATABASE_TIMEOUT = 10.0
DNS_TIMEOUT = 5.0
CLUSTER_KINDS = ("existing-cluster",)

Progress = Callable[[int, int, str], None]


class PreflightUsageError(Exception):
    """Bad --only/--skip names or an answers file preflight cannot work with."""


def effective_profile(answers: Any) -> Any:
    """The sizing profile with the answers' per-worker overrides applied."""
    from installer.profiles import ProfileError, sizing_profile

    try:
        profile = sizing_profile(answers.sizing.profile, answers.base_dir)
    except ProfileError:
        return None
    overrides = answers.sizing.overrides
    worker = profile.node("worker")
    if worker is None:
        return profile
    update = {k: v for k, v in {
        "count": overrides.workers, "vcpu": overrides.worker_vcpu,
        "memory_gb": overrides.worker_memory_gb, "disk_gb": overrides.worker_disk_gb,
    }.items() if v is not None}
    if not update:
        return profile
    nodes = dict(profile.nodes)
    nodes["worker"] = worker.model_copy(update=update)
    return profile.model_copy(update={"nodes": nodes})


def digit_namespaces(answers: Any) -> set[str]:
    from installer.profiles import ProfileError, release_profile

    names = {"digit-installer", "egov", "backbone"}
    try:
        names |= {r.namespace for r in release_profile(answers.release.version, answers.base_dir).releases}
    except ProfileError:
        pass
    return names - {"default", "kube-system", "kube-public", "kube-node-lease"}


def node_targets(answers: Any) -> list[collectors.NodeTarget]:
    target = answers.target
    nodes = getattr(target, "nodes", None) or []
    ssh = getattr(target, "ssh", None)
    if not nodes or ssh is None:
        return []
    return [
        collectors.NodeTarget(name=n.name or n.host, host=n.host, port=n.port or ssh.port, user=n.user or ssh.user,
                              role=n.role, data_paths=list(n.data_paths or ["/var/lib"]))
        for n in nodes
    ]


def run_preflight(answers: Any, only: list[str] | None = None, skip: list[str] | None = None,
                  concurrency: int = DEFAULT_CONCURRENCY, confirm_host_key: Callable[[str, int, str], bool] | None = None,
                  progress: Progress | None = None, cancelled: threading.Event | None = None,
                  state_dir: Path | None = None) -> Report:
    """Collect every needed fact once, then analyse. concurrency=1 runs the sources one after another."""
    selected, unknown = select(only, skip)
    if unknown:
        known = ", ".join(sorted({c.source for c in CATALOGUE.values()} | set(CATALOGUE)))
        raise PreflightUsageError(f"unknown check {', '.join(unknown)} (known: {known})")
    started = time.monotonic()
    sources = {CATALOGUE[cid].source for cid in selected}
    kind = answers.target.kind
    fqdn = answers.domain.fqdn
    tasks: dict[str, Callable[[], Any]] = {}

    nodes = node_targets(answers) if "node" in sources else []
    node_error: str | None = None
    key: Any = None
    policy: HostKeyPolicy | None = None
    if nodes:
        from installer.adapters.ssh import HostKeyPolicy, SSHError, load_private_key

        ssh = answers.target.ssh
        try:
            key_text = answers.secret(ssh.private_key)
            key = load_private_key(key_text or "")
        except SSHError as exc:
            node_error = str(exc)
        except Exception as exc:  # SecretUnavailable and friends: name the reference, never the value
            node_error = f"target.ssh.private_key: {redact.mask(str(exc))}"
        policy = HostKeyPolicy(pinned=dict(ssh.host_keys), known_hosts=ssh.known_hosts, confirm=confirm_host_key)
        for target in nodes:
            if node_error is None:
                tasks[f"node:{target.name}"] = functools.partial(
                    collectors.collect_node, target, key, policy, fqdn, ssh.connect_timeout)

    if "cluster" in sources and kind in CLUSTER_KINDS:
        cluster = answers.target
        namespaces = digit_namespaces(answers)
        tasks["cluster"] = lambda: collectors.collect_cluster(cluster.kubeconfig, cluster.context, CLUSTER_TIMEOUT,
                                                              namespaces)

    db = answers.database
    if "database" in sources and db.mode == "external":
        def database() -> Any:
            try:
                password = answers.secret(db.password)
                admin_password = answers.secret(db.admin_password) if db.admin_password else None
            except Exception as exc:
                facts = collectors.DatabaseFacts(address=f"{db.host}:{db.port}")
                facts.auth_error = f"database.password: {redact.mask(str(exc))}"
                facts.auth_kind = "secret"
                facts.reachable_error = None
                return facts
            return collectors.collect_database(db.host, db.port, db.username, password, db.name, db.sslmode,
                                               DATABASE_TIMEOUT, db.admin_username, admin_password)
        tasks["database"] = database

    if "domain" in sources or "node.dns" in selected:
        tls = answers.domain.tls

        def domain() -> Any:
            key_pem = None
            if tls.mode == "provided":
                try:
                    key_pem = answers.secret(tls.key)
                except Exception:
                    key_pem = None
            return collectors.collect_domain(fqdn, tls.mode, getattr(tls, "cert", None), key_pem, DNS_TIMEOUT)
        tasks["domain"] = domain

    facts = _execute(tasks, max(1, concurrency), progress, cancelled)

    results = analyzers.Results(selected)
    if "local" in sources:
        analyze_local(answers, results, state_dir)
    if nodes:
        node_facts = []
        for target in nodes:
            found = facts.get(f"node:{target.name}")
            if isinstance(found, str):
                found = collectors.NodeFacts(target=target, error=found, error_kind="crashed")
            if found is None:
                found = collectors.NodeFacts(target=target, error=node_error or "cancelled",
                                             error_kind="auth" if node_error else "unreachable")
            node_facts.append(found)
        domain_facts = facts.get("domain")
        analyzers.analyze_nodes(node_facts, results, effective_profile(answers), kind,
                                domain_facts.addresses if domain_facts else None,
                                policy.pinned if policy else {}, answers.target.ssh.known_hosts)
    if nodes and kind == "sdc-vms" and "node.network" in selected and key is not None:
        from installer.preflight import mesh

        reachable = [t for t in nodes if isinstance(facts.get(f"node:{t.name}"), collectors.NodeFacts)
                     and facts[f"node:{t.name}"].error is None]
        ssh_access = answers.target.ssh

        def open_session(target: Any) -> Any:
            from installer.adapters.ssh import connect

            assert policy is not None  # set with the key
            return connect(target.host, target.port, target.user, key, policy, timeout=ssh_access.connect_timeout)

        if progress:
            progress(len(tasks), len(tasks), "testing ports between nodes")
        mesh.analyze_mesh(mesh.collect_mesh(reachable, answers.target.rke2.cni, open_session), results)
    if "cluster" in facts:
        analyzers.analyze_cluster(facts["cluster"], results, effective_profile(answers),
                                  getattr(answers.target, "storage_class", None), digit_namespaces(answers),
                                  install=answers.name, take_over=getattr(answers.target, "take_over_install", None))
    if "database" in facts:
        analyzers.analyze_database(facts["database"], results, db.username, db.name)
    if "domain" in facts:
        analyzers.analyze_domain(facts["domain"], results, load_balancer=_load_balancer(answers))
    order = {cid: index for index, cid in enumerate(CATALOGUE)}
    sources_order = ["local", "node", "cluster", "database", "domain"]
    results.items.sort(key=lambda r: (sources_order.index(r.source), order[r.id], r.target))
    for item in results.items:
        item.measured, item.message = redact.mask(item.measured), redact.mask(item.message)
        if "note" in item.details:
            item.details["note"] = redact.mask(item.details["note"])
    return Report(results=results.items, duration_s=time.monotonic() - started)


def analyze_local(answers: Any, results: analyzers.Results, state_dir: Path | None = None) -> None:
    """The jump host's side: free space for the state directory, secret files others can read, every private key
    the answers reference, the chart tree."""
    from installer.answers import file_warnings, secret_refs
    from installer.plan.graph import release_tree_problem
    from installer.state import STATE_SPACE_NEEDED, free_bytes, state_dir_for

    results.fmt = {}
    where = Path(state_dir) if state_dir else state_dir_for(answers.name)
    free = free_bytes(where)
    need_mb = STATE_SPACE_NEEDED // (1024 * 1024)
    results.add("local.state_disk", free is not None and free >= STATE_SPACE_NEEDED, str(where),
                f"{free / 1024 / 1024:.0f} MB free" if free is not None else "cannot be measured",
                f">= {need_mb} MB free")
    readable = [p for p in file_warnings(answers) if "can read" in p.message]
    for problem in readable:
        results.add("local.secret_files", False, problem.key_path or "answers file", problem.message.split(" (mode")[0],
                    "readable only by you", problem.message)
    if not readable:
        results.add("local.secret_files", True, "answers", "every secret file is private", "readable only by you")
    from installer.answers.spot import private_key_problems
    from installer.keys import PRIVATE_KEY_FIELDS

    bad_keys = private_key_problems(answers, unreadable=True)
    for key_path, message in bad_keys:
        results.add("local.private_keys", False, key_path, message, "a private key, whole and unlocked")
    if not bad_keys:
        count = sum(1 for key_path, _ in secret_refs(answers) if key_path in PRIVATE_KEY_FIELDS)
        results.add("local.private_keys", True, "answers", f"{count} private key(s) parse", "a private key, whole and unlocked")
    tree_problem = release_tree_problem(answers)
    results.add("release.charts", tree_problem is None, str(answers.release.charts),
                tree_problem or f"every chart of release {answers.release.version} present",
                f"the charts of release {answers.release.version}")


def _execute(tasks: dict[str, Callable[[], Any]], concurrency: int, progress: Progress | None,
             cancelled: threading.Event | None) -> dict[str, Any]:
    done: dict[str, Any] = {}
    total = len(tasks)
    if progress:
        progress(0, total, "collecting facts")
    pending = list(tasks.items())
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="preflight") as pool:
        running: dict[Future[Any], str] = {}
        while pending or running:
            while pending and len(running) < concurrency and not (cancelled and cancelled.is_set()):
                name, task = pending.pop(0)
                running[pool.submit(task)] = name
            if not running:
                break
            finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                try:
                    done[name] = future.result()
                except Exception as exc:  # a collector bug must fail its source, not the whole preflight
                    done[name] = _crashed(name, tasks, exc)
                if progress:
                    progress(len(done), total, f"collected {name}")
    return done


def _load_balancer(answers: Any) -> tuple[str, list[str]] | None:
    """Where the domain must point on sdc-vms: target.load_balancer, else the load-balancer node."""
    if answers.target.kind != "sdc-vms":
        return None
    address = answers.target.load_balancer or next(
        (n.host for n in answers.target.nodes if n.role == "load-balancer"), None)
    if not address:
        return None
    try:
        return address, collectors.resolve(address, DNS_TIMEOUT)
    except (OSError, TimeoutError):
        return address, [address]


def _crashed(name: str, tasks: dict[str, Any], exc: Exception) -> Any:
    message = redact.mask(f"collector error: {type(exc).__name__}: {exc}")
    if name == "cluster":
        return collectors.ClusterFacts(context="cluster", error=message)
    if name == "database":
        return collectors.DatabaseFacts(address="database", other_error=message, auth_error=message)
    if name == "domain":
        return collectors.DomainFacts(fqdn="domain", resolve_error=message)
    return message
