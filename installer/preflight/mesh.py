"""Ports between nodes, tested from the nodes themselves (sdc-vms): what RKE2 and its network plugin need open.

Before Kubernetes exists nothing listens on those ports, so every node first starts a short-lived
listener (python3, as the SSH user: all ports are above 1024) on each port it must accept that is still
free; a port already held (RKE2 on a rerun) answers by itself. Then every node connects to every port
it must reach on the others (TCP connect; UDP: a datagram the listener echoes). A port that times out or
is refused is reported with both nodes. Listeners are stopped when the probes end (and stop on their own
after LISTEN_SECONDS), so a second preflight right after finds the ports free again.
"""
from __future__ import annotations

import json
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

LISTEN_SECONDS = 40
CONNECT_TIMEOUT = 2.0
SERVER_PORTS = (("tcp", 6443), ("tcp", 9345), ("tcp", 2379), ("tcp", 2380), ("tcp", 2381))
EVERY_NODE_PORTS = (("tcp", 10250),)
CNI_PORTS = {
    "canal": (("udp", 8472), ("tcp", 9099)),
    "calico": (("udp", 4789), ("tcp", 5473)),
    "cilium": (("udp", 8472), ("tcp", 4240)),
}
CLUSTER_ROLES = {"control-plane": "server", "worker": "agent"}


@dataclass(frozen=True)
class Probe:
    source: str
    target: str
    host: str
    proto: str
    port: int

    @property
    def label(self) -> str:
        return f"{self.proto}/{self.port}"


@dataclass
class MeshFacts:
    probes: list[Probe] = field(default_factory=list)
    failed: dict[Probe, str] = field(default_factory=dict)  # probe -> "timed out" / "refused"
    errors: dict[str, str] = field(default_factory=dict)  # node -> why it could not take part


def accepted_ports(role: str, cni: str) -> list[tuple[str, int]]:
    ports = list(EVERY_NODE_PORTS) + list(CNI_PORTS.get(cni, ()))
    if CLUSTER_ROLES.get(role) == "server":
        ports = list(SERVER_PORTS) + ports
    return ports


def plan(nodes: list[Any], cni: str) -> list[Probe]:
    """Every (source, target, port) RKE2 needs: all to servers' API/supervisor/etcd, all to all for kubelet and CNI."""
    cluster = [n for n in nodes if n.role in CLUSTER_ROLES]
    probes = []
    for source in cluster:
        for target in cluster:
            if source is target:
                continue
            for proto, port in accepted_ports(target.role, cni):
                if port in (2379, 2380, 2381) and CLUSTER_ROLES[source.role] != "server":
                    continue  # etcd talks only between servers
                probes.append(Probe(source.name, target.name, target.host, proto, port))
    return probes


_LISTENER = r'''
import json, os, socket, sys, threading, time
ports = json.loads(sys.argv[1]); seconds = float(sys.argv[2])
held = []
for proto, port in ports:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port))
    except OSError:
        continue  # already held by something that listens: it answers by itself
    if proto == "tcp":
        s.listen(64)
    held.append((proto, s, port))
child = os.fork()
if child:
    print("ready", child, json.dumps([[proto, port] for proto, _, port in held]), flush=True)
    os._exit(0)
os.setsid()
for fd in (0, 1, 2):
    os.close(fd)
def serve(proto, s):
    while True:
        try:
            if proto == "tcp":
                conn, _ = s.accept(); conn.close()
            else:
                data, peer = s.recvfrom(64); s.sendto(data, peer)
        except OSError:
            return
for proto, s, _ in held:
    threading.Thread(target=serve, args=(proto, s), daemon=True).start()
time.sleep(seconds)
'''

_PROBER = r'''
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
probes = json.loads(sys.argv[1]); timeout = float(sys.argv[2])
def one(probe):
    host, proto, port = probe
    try:
        if proto == "tcp":
            socket.create_connection((host, port), timeout=timeout).close()
            return "ok"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(timeout)
        s.connect((host, port)); s.send(b"digit-preflight"); s.recv(64); s.close()
        return "ok"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "timed out"
with ThreadPoolExecutor(max_workers=32) as pool:
    print(json.dumps(list(pool.map(one, probes))))
'''


def _python(script: str, *args: str) -> str:
    return "python3 -c " + shlex.quote(script) + "".join(" " + shlex.quote(a) for a in args)


def collect_mesh(nodes: list[Any], cni: str, open_session: Any, timeout: float = 30.0) -> MeshFacts:
    """open_session(node) -> an open RemoteSession; nodes: NodeTargets (name, host, role)."""
    from installer.adapters.ssh import SSHError

    facts = MeshFacts(probes=plan(nodes, cni))
    cluster = [n for n in nodes if n.role in CLUSTER_ROLES]
    if len(cluster) < 2:
        return facts

    pids: dict[str, int] = {}

    def listen(node: Any) -> set[tuple[str, int]]:
        """Start the listener; returns the ports it holds (a UDP port held by something else is not probed:
        a VXLAN socket, say, echoes nothing)."""
        ports = accepted_ports(node.role, cni)
        with open_session(node) as session:
            result = session.run(_python(_LISTENER, json.dumps(ports), str(LISTEN_SECONDS)), timeout=timeout)
        if result.exit_status != 0 or not result.stdout.startswith("ready"):
            raise SSHError(f"cannot start a test listener (python3 needed): {result.stderr.strip()[:200]}")
        _, pid, bound = result.stdout.split(" ", 2)
        pids[node.name] = int(pid)
        return {(proto, int(port)) for proto, port in json.loads(bound)}

    def stop(node: Any) -> None:
        """End this node's listener now (it would end by itself after LISTEN_SECONDS)."""
        if node.name in pids:
            with open_session(node) as session:
                session.run(f"kill {pids[node.name]} 2>/dev/null || true", timeout=timeout)

    def probe(node: Any) -> list[str]:
        mine = [p for p in facts.probes if p.source == node.name]
        with open_session(node) as session:
            result = session.run(_python(_PROBER, json.dumps([[p.host, p.proto, p.port] for p in mine]),
                                         str(CONNECT_TIMEOUT)), timeout=timeout + CONNECT_TIMEOUT * len(mine))
        if result.exit_status != 0:
            raise SSHError(f"cannot run the port probe (python3 needed): {result.stderr.strip()[:200]}")
        outcomes: list[str] = json.loads(result.stdout)
        return outcomes

    with ThreadPoolExecutor(max_workers=min(16, len(cluster))) as pool:
        started = {n.name: pool.submit(listen, n) for n in cluster}
        held: dict[str, set[tuple[str, int]]] = {}
        for name, listening in started.items():
            try:
                held[name] = listening.result()
            except Exception as exc:  # SSHError, OSError: this node cannot take part
                facts.errors[name] = str(exc)
        facts.probes = [p for p in facts.probes if p.proto == "tcp" or (p.proto, p.port) in held.get(p.target, set())]
        probing = [n for n in cluster if n.name not in facts.errors]
        probed = {n.name: pool.submit(probe, n) for n in probing}
        for name, probing_node in probed.items():
            try:
                answers = probing_node.result()
            except Exception as exc:
                facts.errors[name] = str(exc)
                continue
            for item, outcome in zip([p for p in facts.probes if p.source == name], answers, strict=False):
                if outcome != "ok" and item.target not in facts.errors:
                    facts.failed[item] = outcome
        for stopping in [pool.submit(stop, n) for n in cluster]:
            try:
                stopping.result()
            except Exception:  # noqa: S110 - the listener ends by itself anyway
                pass
    return facts


def analyze_mesh(facts: MeshFacts, results: Any) -> None:
    """One result per source node; a blocked port names both nodes and the port."""
    sources = sorted({p.source for p in facts.probes})
    for source in sources:
        if source in facts.errors:
            results.add("node.network", False, source, "not tested", "ports reachable between nodes",
                        facts.errors[source], severity="warn")
            continue
        blocked = [(p, why) for p, why in facts.failed.items() if p.source == source]
        mine = [p for p in facts.probes if p.source == source]
        if blocked:
            measured = "; ".join(f"{source} -> {p.target} ({p.host}) {p.label} {why}" for p, why in blocked)
        else:
            measured = f"{len(mine)} port(s) on {len({p.target for p in mine})} node(s) reachable"
        results.add("node.network", not blocked, source, measured,
                    "6443, 9345, 10250, 2379-2381 and the network plugin's ports reachable between nodes",
                    blocked=[{"from": p.source, "to": p.target, "port": p.label, "outcome": why} for p, why in blocked])
