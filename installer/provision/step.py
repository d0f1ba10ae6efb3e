"""The `provision` step for bare VMs: RKE2 installed air-gapped over SSH, in the order RKE2's HA guide requires.

1. The artifacts are checked against their sums on the jump host; a mismatch stops here, no node touched.
2. Every cluster node is reached (host keys pinned or known, never accepted on the fly) and inspected;
   one unreachable node or a changed host key stops the step before anything runs anywhere.
3. The first server is the node that already initialised a cluster, found on the nodes themselves (so a
   lost state directory never leads to a second cluster); if none did, the first control-plane node.
   The token is that cluster's own (read back from it) or the secret store's, generated once.
4. On every node in parallel (bounded): artifacts copied when missing or different, RKE2 installed when its
   release differs, config.yaml and registries.yaml written when their digests differ.
5. The first server alone, then its token and kubeconfig; the other servers one at a time, each Ready
   before the next; then agents in batches. A node is started when stopped, restarted only when its
   config or release changed, left alone otherwise.
The kubeconfig, pointed at the registration address, is saved 0600 in the state directory and is the
step's output for every later step.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from collections.abc import Callable

from installer.answers import Answers
from installer.answers.models import SdcVmsTarget
from installer import redact
from installer.engine import StepContext, StepFailed
from installer.provision import cluster as kube
from installer.provision.artifacts import ArtifactError, Bundle, verify
from installer.provision.config import (CONFIG_PATH, REGISTRIES_PATH, REGISTRY_CA_PATH, ROLE_AGENT, ROLE_SERVER,
                                        Member, digest, members, node_config, registries_config)
from installer.provision.nodes import KUBECONFIG_FILE, TOKEN_FILE, NodeError, NodeOps, NodeState

TOKEN_KEY = "target.rke2.token"
MAX_PARALLEL = 16
CONCURRENCY_ENV = "DIGIT_INSTALLER_PROVISION_CONCURRENCY"  # nodes worked on at once (copy, install, configure)
PHASES = 4  # copy, install, start, joined: the per-node progress rows
T = TypeVar("T")


def _ready_timeout() -> float:
    try:
        return float(os.environ.get("DIGIT_INSTALLER_NODE_READY_TIMEOUT", "600"))
    except ValueError:
        return 600.0


@dataclass(frozen=True)
class ProvisionOutput:
    """What later steps use: the kubeconfig (0600, registration address; read by plan/provisioned.py's
    kube_access under the same key), node names, what was done."""
    kubeconfig: str
    registration_address: str
    first_server: str
    node_names: dict[str, str]
    installed: list[str] = field(default_factory=list)
    configured: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class NodeWork:
    member: Member
    ops: NodeOps
    state: NodeState
    installed: bool = False
    configured: bool = False
    started: bool = False
    restarted: bool = False


class Fleet:
    """One SSH session per cluster node, opened in parallel; closed on exit."""

    def __init__(self, ctx: StepContext[Answers], cluster: list[Member]) -> None:
        self.ctx, self.cluster = ctx, cluster
        self.sessions: dict[str, Any] = {}

    def __enter__(self) -> Fleet:
        from installer.adapters.ssh import HostKeyError, HostKeyPolicy, SSHError, connect, load_private_key

        target = sdc_target(self.ctx.answers)
        ssh = target.ssh
        try:
            key = load_private_key(self.ctx.answers.secret(ssh.private_key) or "")
        except SSHError as exc:
            raise StepFailed(f"target.ssh.private_key: {exc}") from None
        except Exception as exc:  # SecretUnavailable: name the reference, never a value
            raise StepFailed(f"target.ssh.private_key: {redact.mask(str(exc))}") from None
        policy = HostKeyPolicy(pinned=dict(ssh.host_keys), known_hosts=ssh.known_hosts, confirm=None)
        by_label = {n.label: n for n in target.nodes}

        def open_one(member: Member) -> Any:
            node = by_label[member.label]
            return connect(node.host, node.port or ssh.port, node.user or ssh.user, key, policy,
                           timeout=ssh.connect_timeout)

        problems = []
        with ThreadPoolExecutor(max_workers=min(concurrency(), len(self.cluster))) as pool:
            futures = {m.label: pool.submit(open_one, m) for m in self.cluster}
            for label, future in futures.items():
                try:
                    self.sessions[label] = future.result()
                except HostKeyError as exc:
                    problems.append(f"{label}: {exc}")
                except SSHError as exc:
                    problems.append(f"{label}: {exc}")
        if problems:
            self.__exit__(None, None, None)
            raise StepFailed("nothing was changed on any node: " + "; ".join(problems),
                             remediation="fix SSH access to the named node(s) (a changed host key must be checked "
                                         "on the machine's console before it is pinned again), then rerun")
        return self

    def ops(self, member: Member) -> NodeOps:
        target = sdc_target(self.ctx.answers)
        node = next(n for n in target.nodes if n.label == member.label)
        return NodeOps(self.sessions[member.label], member.label, node.user or target.ssh.user)

    def __exit__(self, *exc: object) -> None:
        for session in self.sessions.values():
            session.close()
        self.sessions.clear()


def concurrency() -> int:
    try:
        return max(1, min(64, int(os.environ.get(CONCURRENCY_ENV, MAX_PARALLEL))))
    except ValueError:
        return MAX_PARALLEL


def each(items: list[T], action: Callable[[T], Any], limit: int | None = None) -> list[Any]:
    """Run action on every item in parallel (bounded); the first error is raised after all have ended."""
    if not items:
        return []
    limit = limit or concurrency()
    with ThreadPoolExecutor(max_workers=min(limit, len(items))) as pool:
        futures = [pool.submit(action, item) for item in items]
        results, errors = [], []
        for future in futures:
            try:
                results.append(future.result())
            except BaseException as exc:  # NodeError, Cancelled: every node reports before the step fails
                errors.append(exc)
                results.append(None)
    if errors:
        raise errors[0]
    return results


def sdc_target(answers: Answers) -> SdcVmsTarget:
    """The answers' target as the VMs this step installs RKE2 on (an openstack install hands its VMs
    over as one); any other kind reaching this step is a wiring mistake, said as such."""
    target = answers.target
    if not isinstance(target, SdcVmsTarget):
        raise StepFailed(f"the provision step for target kind {target.kind!r} is not this one")
    return target


def provision(ctx: StepContext[Answers]) -> ProvisionOutput:
    answers = ctx.answers
    target = sdc_target(answers)
    if target.rke2.artifacts is None:
        raise StepFailed("target.rke2.artifacts is not set: the folder with RKE2's air-gap release files is needed "
                         "to install Kubernetes on the VMs", remediation="set target.rke2.artifacts in the answers")
    ctx.progress(0, None, "", "checking the RKE2 artifacts against sha256sum-amd64.txt")
    try:
        bundle = verify(target.rke2.artifacts)
    except ArtifactError as exc:
        raise StepFailed(f"RKE2 artifacts: {exc}; nothing was copied to any node",
                         remediation="copy the artifacts of one RKE2 release again from the air-gap bundle") from None
    cluster = members(target)
    ctx.log(f"RKE2 artifacts verified ({len(bundle.files)} files); {len(cluster)} node(s) join the cluster")
    with Fleet(ctx, cluster) as fleet:
        works = each(cluster, lambda m: _inspect(ctx, fleet, m))
        return _provision(ctx, bundle, works)


def reporting(ctx: StepContext[Answers], label: str, action: Callable[[], T]) -> T:
    """Run one node's action; a failure is that node's row's outcome at once, then the step's."""
    try:
        return action()
    except NodeError as exc:
        ctx.task_done(label, "failed", redact.mask(str(exc)))
        raise


def _inspect(ctx: StepContext[Answers], fleet: Fleet, member: Member) -> NodeWork:
    ops = fleet.ops(member)
    try:
        state = reporting(ctx, member.label, ops.inspect)
    except NodeError as exc:
        raise StepFailed(str(exc)) from None
    ctx.log(f"{state.version or 'RKE2 not installed'}; "
            f"{'running' if state.active(member.rke2_role) else 'not running'}", task=member.label)
    return NodeWork(member, ops, state)


def _first_server(works: list[NodeWork]) -> NodeWork:
    """The server that initialised the cluster, found on the nodes; else the first control-plane node."""
    servers = [w for w in works if w.member.rke2_role == ROLE_SERVER]
    initialised = [w for w in servers if w.state.initialised_server]
    if len(initialised) > 1:
        raise StepFailed("nodes " + ", ".join(w.member.label for w in initialised) + " each initialised a cluster "
                         "of their own; the installer will not choose between them",
                         remediation="keep one cluster: uninstall RKE2 (rke2-uninstall.sh) on the others, then rerun")
    return initialised[0] if initialised else servers[0]


def _token(ctx: StepContext[Answers], first: NodeWork) -> str:
    from installer.secretstore import SecretStore

    store = SecretStore(Path(ctx.state_dir), persist=not ctx.dry_run)
    if first.state.has_token:
        try:
            text = first.ops.read_root_file(TOKEN_FILE).strip()
        except NodeError as exc:
            raise StepFailed(str(exc)) from None
        secret = text.split("::", 1)[1].split(":", 1)[-1] if text.startswith("K10") and "::" in text else text
        redact.register(text)
        redact.register(secret)
        if store.get(TOKEN_KEY) not in (None, secret):
            ctx.warn("the state directory's RKE2 token differs from the cluster's; the cluster's own is kept")
        store.keep(TOKEN_KEY, secret)
        ctx.log(f"{first.member.label} initialised this cluster before; its token is reused")
        return secret
    values, _ = store.ensure([TOKEN_KEY])
    return values[TOKEN_KEY]


def _provision(ctx: StepContext[Answers], bundle: Bundle, works: list[NodeWork]) -> ProvisionOutput:
    answers = ctx.answers
    target = sdc_target(answers)
    first = _first_server(works)
    address = target.load_balancer or first.member.host
    token = _token(ctx, first)
    dedicated = any(w.member.rke2_role == ROLE_AGENT for w in works)
    registry = answers.registry
    registry_password = answers.secret(registry.password) if registry is not None else None
    ca_pem = Path(registry.ca_cert).read_text() if registry is not None and registry.ca_cert else None
    registries = registries_config(answers, registry_password, ca_pem)
    if ctx.dry_run:
        ctx.log("dry run: artifacts verified and nodes inspected; nothing copied, written or started")
        return _output(ctx, address, first, works, kubeconfig="")

    def prepare(work: NodeWork) -> None:
        member, ops, state = work.member, work.ops, work.state
        task = member.label
        if state.installed_release != bundle.release_id or not state.version:
            ops.prepare_folders()
            staged = ops.staged_digests(bundle)
            missing = [a for a in bundle.files if staged.get(a.name) != a.sha256]
            for index, artifact in enumerate(missing, 1):
                ctx.progress(0, PHASES, "phases", f"copy {artifact.name} ({index}/{len(missing)})", task=task)
                ops.stage(artifact)
            ctx.progress(1, PHASES, "phases", f"copied {len(missing)} file(s), reused {len(bundle.files) - len(missing)}",
                         task=task)
            ops.install(member.rke2_role)
            work.installed = True
            ctx.log("RKE2 installed from the artifacts", task=task)
        else:
            ctx.progress(1, PHASES, "phases", "RKE2 release already installed", task=task)
        config = node_config(answers, member, token, address, joins=work is not first,
                             dedicated_control_plane=dedicated)
        if digest(config) != state.config_sha256:
            ops.prepare_folders()
            ops.write_private(config, CONFIG_PATH)
            work.configured = True
        if registries is not None and digest(registries) != state.registries_sha256:
            ops.prepare_folders()
            if ca_pem is not None:
                ops.write_private(ca_pem, REGISTRY_CA_PATH)
            ops.write_private(registries, REGISTRIES_PATH)
            work.configured = True
        ctx.progress(2, PHASES, "phases", "configured" if work.configured else "configuration unchanged", task=task)

    try:
        each(works, lambda w: reporting(ctx, w.member.label, lambda: prepare(w)))
        kubeconfig = reporting(ctx, first.member.label, lambda: _start_first(ctx, first, address))
        servers = [w for w in works if w.member.rke2_role == ROLE_SERVER and w is not first]
        agents = [w for w in works if w.member.rke2_role == ROLE_AGENT]
        readiness = _readiness(kubeconfig)
        for work in servers:
            reporting(ctx, work.member.label, lambda: _start(ctx, work, readiness))  # noqa: B023 - called at once
            _wait_ready(ctx, kubeconfig, [work])
        batch = target.rke2.agent_batch
        for start in range(0, len(agents), batch):
            group = agents[start:start + batch]
            each(group, lambda w: reporting(ctx, w.member.label, lambda: _start(ctx, w, readiness)))
            _wait_ready(ctx, kubeconfig, group)
    except NodeError as exc:
        raise StepFailed(redact.mask(str(exc)), remediation="look at the node named (journalctl -u rke2-server or "
                                                            "rke2-agent on it), then rerun with --resume") from None
    except kube.ClusterError as exc:
        raise StepFailed(str(exc), remediation="look at the node(s) named, then rerun with --resume") from None
    return _output(ctx, address, first, works, kubeconfig=str(kubeconfig))


def _readiness(kubeconfig: Path) -> dict[str, bool]:
    try:
        return kube.node_readiness(kubeconfig)
    except Exception:
        return {}


def _start(ctx: StepContext[Answers], work: NodeWork, readiness: dict[str, bool]) -> None:
    """Start a stopped node; restart one whose config or release changed, or that the cluster does not know."""
    member, state = work.member, work.state
    active = state.active(member.rke2_role)
    known = member.node_name in readiness if readiness else True
    if active and not (work.configured or work.installed) and known:
        ctx.progress(3, PHASES, "phases", "already running", task=member.label)
        return
    restart = active
    if active and not known:
        ctx.log("running but not in the cluster; restarting it", task=member.label)
    ctx.progress(2, PHASES, "phases", "restarting" if restart else "starting", task=member.label)
    work.ops.start(member.rke2_role, restart=restart)
    if restart:
        work.restarted = True
    else:
        work.started = True
    ctx.progress(3, PHASES, "phases", "restarted" if restart else "started", task=member.label)


def _start_first(ctx: StepContext[Answers], first: NodeWork, address: str) -> Path:
    _start(ctx, first, {})
    ops = first.ops
    deadline_wait = _ready_timeout()
    waited = 0.0
    while not ops.has_files(TOKEN_FILE, KUBECONFIG_FILE):
        if waited > deadline_wait:
            raise NodeError(f"{first.member.label}: no node token and kubeconfig after {deadline_wait:g}s")
        ctx.sleep(1.0)
        waited += 1.0
    text = kube.rewrite_kubeconfig(ops.read_root_file(KUBECONFIG_FILE), address)
    path = kube.save_kubeconfig(Path(ctx.state_dir), text)
    ctx.log(f"kubeconfig saved to {path} (server https://{address}:6443)")
    _wait_ready(ctx, path, [first])
    return path


def _wait_ready(ctx: StepContext[Answers], kubeconfig: Path, works: list[NodeWork]) -> None:
    names = [w.member.node_name for w in works]
    kube.wait_ready(kubeconfig, names, _ready_timeout(), ctx.sleep)
    for work in works:
        ctx.progress(PHASES, PHASES, "phases", "joined, Ready", task=work.member.label)
        ctx.task_done(work.member.label, "succeeded", "Ready")


def _output(ctx: StepContext[Answers], address: str, first: NodeWork, works: list[NodeWork], kubeconfig: str) -> ProvisionOutput:
    return ProvisionOutput(
        kubeconfig=kubeconfig, registration_address=address, first_server=first.member.label,
        node_names={w.member.label: w.member.node_name for w in works},
        installed=[w.member.label for w in works if w.installed],
        configured=[w.member.label for w in works if w.configured],
        started=[w.member.label for w in works if w.started],
        restarted=[w.member.label for w in works if w.restarted])
