"""The Kubernetes side of provisioning: the kubeconfig the later steps use, and Nodes turning Ready.

RKE2 writes /etc/rancher/rke2/rke2.yaml pointing at https://127.0.0.1:6443; the installer's copy points
at the registration address instead (its certificate names it through tls-san), is kept 0600 in the
state directory, and its credentials are registered with the redactor.
"""
from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path
from collections.abc import Callable

from installer import redact
from installer.files import atomic_write

KUBECONFIG_NAME = "kubeconfig"
API_PORT = 6443


class ClusterError(Exception):
    pass


def rewrite_kubeconfig(text: str, address: str) -> str:
    """The same kubeconfig with every cluster's server at https://ADDRESS:6443; JSON, which YAML readers take."""
    from installer.yamlio import load_yaml

    try:
        config = load_yaml(text)
    except Exception as exc:  # yaml.YAMLError and friends
        raise ClusterError(f"rke2.yaml cannot be read: {type(exc).__name__}") from None
    if not isinstance(config, dict) or not config.get("clusters"):
        raise ClusterError("rke2.yaml has no clusters")
    host = f"[{address}]" if ":" in address else address
    for cluster in config["clusters"]:
        server = urllib.parse.urlsplit(cluster["cluster"]["server"])
        cluster["cluster"]["server"] = f"https://{host}:{server.port or API_PORT}"
    for user in config.get("users") or []:
        for key in ("token", "client-key-data", "password"):
            if (user.get("user") or {}).get(key):
                redact.register(user["user"][key])
    return json.dumps(config, indent=2) + "\n"


def save_kubeconfig(state_dir: Path, text: str) -> Path:
    return atomic_write(Path(state_dir) / KUBECONFIG_NAME, text, 0o600)


def node_readiness(kubeconfig: Path) -> dict[str, bool]:
    """Every Node the API knows and whether its Ready condition is True (through the Kubernetes adapter)."""
    from installer.adapters.kube import connect

    cluster = connect(kubeconfig, None, timeout=10.0)
    try:
        items = cluster.list("Node")
    finally:
        cluster.close()
    ready = {}
    for item in items:
        conditions = (item.get("status") or {}).get("conditions") or []
        ready[item["metadata"]["name"]] = any(c.get("type") == "Ready" and c.get("status") == "True"
                                              for c in conditions)
    return ready


def wait_ready(kubeconfig: Path, names: list[str], timeout: float, sleep: Callable[[float], None],
               on_poll: Callable[[dict[str, bool]], None] | None = None) -> dict[str, bool]:
    """Poll until every named Node is Ready; raises ClusterError naming those that are not."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        try:
            ready = node_readiness(kubeconfig)
            last_error = ""
            if on_poll is not None:
                on_poll(ready)
            if all(ready.get(name) for name in names):
                return ready
        except Exception as exc:  # the API may not answer for the first moments after a start
            ready, last_error = {}, f"{type(exc).__name__}: {redact.mask(str(exc))[:200]}"
        if time.monotonic() > deadline:
            waiting = [n for n in names if not ready.get(n)]
            raise ClusterError(f"node(s) {', '.join(waiting)} not Ready after {timeout:g}s"
                               + (f" (the API: {last_error})" if last_error else ""))
        sleep(1.0)

