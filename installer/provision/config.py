"""What each node's RKE2 configuration says (pure functions; nothing here touches a node).

Every server gets the same critical settings (CNI, CIDRs), as RKE2 refuses a server that differs. Only the
first server lacks `server:`; the others register at the fixed registration address. Control-plane nodes
are tainted CriticalAddonsOnly when workers exist (dedicated control planes), so DIGIT runs on workers.
Values are written as JSON scalars, which YAML reads unchanged, so the text (and its digest) is stable.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

CONFIG_PATH = "/etc/rancher/rke2/config.yaml"
REGISTRIES_PATH = "/etc/rancher/rke2/registries.yaml"
REGISTRY_CA_PATH = "/etc/rancher/rke2/registry-ca.crt"
SUPERVISOR_PORT = 9345
API_PORT = 6443
CONTROL_PLANE_TAINT = "CriticalAddonsOnly=true:NoExecute"
ROLE_SERVER, ROLE_AGENT = "server", "agent"
CLUSTER_ROLES = {"control-plane": ROLE_SERVER, "worker": ROLE_AGENT}


@dataclass(frozen=True)
class Member:
    """A node that joins the cluster: its answers label, address, RKE2 role and Kubernetes node name."""
    label: str
    host: str
    rke2_role: str  # server | agent
    node_name: str


def kubernetes_name(label: str) -> str:
    """A valid node name (RFC 1123 subdomain) from the answers' label."""
    name = re.sub(r"[^a-z0-9.-]+", "-", label.lower()).strip("-.")
    return name[:253] or "node"


def members(target: Any) -> list[Member]:
    """Cluster nodes in answers order (control-plane and worker; database and load-balancer VMs stay out)."""
    return [Member(n.label, n.host, CLUSTER_ROLES[n.role], kubernetes_name(n.label))
            for n in target.nodes if n.role in CLUSTER_ROLES]


def _lines(settings: dict[str, Any]) -> str:
    return "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())


def node_config(answers: Any, member: Member, token: str, address: str, joins: bool,
                dedicated_control_plane: bool) -> str:
    """config.yaml for one node; `address` is the fixed registration address (load balancer or first server)."""
    rke2 = answers.target.rke2
    settings: dict[str, Any] = {"token": token}
    if joins:
        settings["server"] = f"https://{address}:{SUPERVISOR_PORT}"
    settings["node-name"] = member.node_name
    if member.rke2_role == ROLE_SERVER:
        sans = [address] + ([member.host] if member.host != address else [])
        settings.update({"tls-san": sans, "cni": rke2.cni, "cluster-cidr": rke2.cluster_cidr,
                         "service-cidr": rke2.service_cidr, "write-kubeconfig-mode": "0600"})
        if dedicated_control_plane:
            settings["node-taint"] = [CONTROL_PLANE_TAINT]
    registry = answers.registry
    if registry is not None:
        settings["system-default-registry"] = registry.mirror.split("/", 1)[0]
        settings["disable-default-registry-endpoint"] = True
    header = (f"# Written by the DIGIT installer for install {answers.name}; reruns overwrite it.\n"
              "# Mode 0600: it holds the cluster token.\n")
    return header + _lines(settings)


def registries_config(answers: Any, password: str | None, ca_pem: str | None = None) -> str | None:
    """registries.yaml pointing every pull at the mirror, with its credentials; None without a mirror.

    With a CA, its digest is written in the header, so a changed CA rewrites (and restarts) like a changed config.
    """
    registry = answers.registry
    if registry is None:
        return None
    host = registry.mirror.split("/", 1)[0]
    scheme = "http" if registry.insecure else "https"
    config: dict[str, Any] = {}
    if registry.username:
        config["auth"] = {"username": registry.username, "password": password or ""}
    if registry.insecure:
        config["tls"] = {"insecure_skip_verify": True}
    elif registry.ca_cert:
        config["tls"] = {"ca_file": REGISTRY_CA_PATH}
    document = {"mirrors": {host: {"endpoint": [f"{scheme}://{host}"]},
                            "docker.io": {"endpoint": [f"{scheme}://{host}"]}},
                "configs": {host: config} if config else {}}
    header = f"# Written by the DIGIT installer for install {answers.name}. Mode 0600.\n"
    if ca_pem is not None and "tls" in config and "ca_file" in config["tls"]:
        header += f"# {REGISTRY_CA_PATH}: sha256 {digest(ca_pem)}\n"
    return header + json.dumps(document, indent=2) + "\n"


def digest(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text is not None else None
