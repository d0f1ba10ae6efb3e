"""After deploy: check what an operator would check by hand, asking the cluster what it can do.

Nothing here guesses what kind of cluster it talks to. Each check that depends on a capability
probes it first (do the release pods run with a pod network, does anything give the ingress an
address) and, when the capability is absent, is recorded as skipped with that reason.
"""
from __future__ import annotations

import ssl
from collections.abc import Iterable

from installer.answers import Answers
from installer import redact
from installer.adapters.kube import KubeCluster, KubeError
from installer.checks import FAIL, PASS, SKIP
from installer.deploy.cluster import ingress_addresses, ingress_controller_addresses
from installer.deploy.outputs import Check, ReleasesOutput, VerifyOutput
from installer.deploy.readiness import ReadinessWatcher, workloads_from_manifest
from installer.deploy.releases import planned_releases
from installer.deploy.target import Cluster, open_cluster
from installer.engine import StepContext, StepFailed

HEALTH_TIMEOUT = 10.0
RELEASE_STEPS = ("deploy", "monitoring", "ci")
# Core services and the path their health endpoint answers on behind DIGIT's ingress.
HEALTH_PATHS = {
    "egov-mdms-service": "/egov-mdms-service/health",
    "egov-user": "/user/health",
    "egov-workflow-v2": "/egov-workflow-v2/health",
    "egov-localization": "/localization/health",
    "egov-idgen": "/egov-idgen/health",
    "egov-filestore": "/filestore/health",
    "egov-persister": "/common-persist/health",
}


def _check(check_id: str, outcome: str, message: str, remediation: str = "",
           addresses: Iterable[str] = ()) -> Check:
    return Check(check_id, outcome, redact.mask(message), remediation, tuple(addresses))


def pods_with_network(api: KubeCluster, namespaces: Iterable[str]) -> tuple[int, int]:
    """(pods, pods with a pod IP) in the given namespaces: whether containers really run on a network."""
    pods = with_ip = 0
    for namespace in sorted(set(namespaces)):
        try:
            items = api.list("Pod", namespace)
        except KubeError:
            continue
        pods += len(items)
        with_ip += sum(1 for pod in items if (pod.get("status") or {}).get("podIP"))
    return pods, with_ip


def ingress_check(api: KubeCluster, namespaces: Iterable[str]) -> Check:
    """The ingress has an address; skipped, saying why, when nothing in the cluster could serve one."""
    addresses = sorted({a for found in ingress_addresses(api).values() for a in found})
    addresses = addresses or ingress_controller_addresses(api)
    if addresses:
        return _check("ingress.address", PASS, f"ingress address {', '.join(addresses)}", addresses=addresses)
    pods, with_ip = pods_with_network(api, namespaces)
    if pods and not with_ip:
        return _check("ingress.address", SKIP,
                      f"none of the {pods} pods of the deployed releases has a pod IP: the cluster runs no "
                      "containers behind its API, so no ingress controller can serve or be given an address")
    return _check("ingress.address", FAIL, "no Ingress or LoadBalancer Service reports an address yet",
                  remediation="check the ingress-nginx Service in namespace backbone and the load balancer in "
                              "front of the nodes")


def run_checks(ctx: StepContext[Answers], cluster: Cluster, releases: list[tuple[str, str]]) -> list[Check]:
    watcher = ReadinessWatcher(cluster.api)
    checks: list[Check] = []
    total = len(releases) + 2
    for index, (name, namespace) in enumerate(releases, 1):
        ctx.check_cancelled()
        info = cluster.helm.get(name, namespace=namespace)
        if info is None:
            checks.append(_check(f"release.{name}", FAIL, f"release {namespace}/{name} is not installed"))
            continue
        refs = workloads_from_manifest(info.manifest or "", namespace)
        states, breakage = watcher.observe(refs)
        waiting = [f"{s.kind}/{s.name} {s.ready}/{s.desired}" for s in states if not s.done]
        if breakage is not None:
            checks.append(_check(f"release.{name}", FAIL, breakage.describe()))
        elif info.status != "deployed" or waiting:
            checks.append(_check(f"release.{name}", FAIL,
                                 f"status {info.status}; not ready: {', '.join(waiting) or 'none'}"))
        else:
            ready = sum(s.ready for s in states)
            checks.append(_check(f"release.{name}", PASS, f"revision {info.revision}, {ready} ready"))
        ctx.progress(index, total, "checks", f"{name}: {checks[-1].outcome}")

    ingress = ingress_check(cluster.api, [namespace for _, namespace in releases])
    checks.append(ingress)
    ctx.progress(len(releases) + 1, total, "checks", "ingress")

    deployed = {name for name, _ in releases}
    if not ingress.addresses:
        checks.append(_check("health.core", SKIP, "no ingress address to send requests to"
                             + (f" ({ingress.message})" if ingress.outcome == SKIP else "")))
    else:
        fqdn = ctx.answers.domain.fqdn
        tls = ctx.answers.domain.tls
        insecure = tls.mode == "self-signed"
        cafile = str(tls.cert) if tls.mode == "provided" and getattr(tls, "cert", None) else None
        for service, path in sorted(HEALTH_PATHS.items()):
            if service in deployed:
                checks.append(_health(service, fqdn, ingress.addresses[0], path, insecure, cafile))
    ctx.progress(total, total, "checks", "done")
    return checks


def _health(service: str, fqdn: str, address: str, path: str, insecure: bool,
            cafile: str | None = None) -> Check:
    """GET https://<fqdn><path>, connecting to the ingress address: DNS is not needed from this machine,
    yet TLS is checked against the DIGIT host name (SNI and certificate) as a browser would."""
    import http.client
    import socket

    host, _, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile)  # e.g. the chain of a state-issued certificate, besides system trust
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    class IngressConnection(http.client.HTTPSConnection):
        def connect(self) -> None:
            raw = socket.create_connection((host, int(port or 443)), self.timeout)
            self.sock = context.wrap_socket(raw, server_hostname=fqdn)

    url = f"https://{fqdn}{path}"
    connection = IngressConnection(fqdn, int(port or 443), timeout=HEALTH_TIMEOUT, context=context)
    try:
        connection.request("GET", path, headers={"Host": fqdn})
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as error:
        why = getattr(error, "verify_message", None) or getattr(error, "reason", None) or error
        return _check(f"health.{service}", FAIL, f"{url}: {why}")
    finally:
        connection.close()
    if 200 <= status < 400:
        return _check(f"health.{service}", PASS, f"{url} answered {status}")
    return _check(f"health.{service}", FAIL, f"{url} answered {status}")


def verify(ctx: StepContext[Answers]) -> VerifyOutput:
    """Every release's workloads ready, the ingress has an address, core health endpoints answer."""
    if ctx.dry_run:
        ctx.log("would check every release's workloads, the ingress address and the core health endpoints")
        return VerifyOutput(dry_run=True)
    releases = sorted({name for step in RELEASE_STEPS for name in ReleasesOutput.from_dict(ctx.outputs.get(step)).ready})
    cluster = open_cluster(ctx)
    try:
        namespaces = {r.name: r.namespace for r in planned_releases(ctx)}
        output = VerifyOutput(run_checks(ctx, cluster, [(name, namespaces.get(name, "default")) for name in releases]))
    finally:
        cluster.helm.close()
    for check in output.checks:
        if check.outcome != PASS:
            ctx.log(f"{check.id}: {check.outcome}: {check.message}", level="warning" if check.outcome == FAIL else "info")
    if output.failed:
        raise StepFailed("verification failed: " + "; ".join(f"{c.id}: {c.message}" for c in output.failed),
                         remediation="see the failed checks; fix and rerun with --resume", details=output)
    return output
