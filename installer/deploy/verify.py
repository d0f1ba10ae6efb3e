"""After deploy: check what an operator would check by hand, then tell them where everything is."""
from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from installer import redact
from installer.plan import addons

HEALTH_TIMEOUT = 10.0
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


def _check(check_id: str, outcome: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"id": check_id, "outcome": outcome, "message": redact.mask(message), **extra}


def run_checks(ctx: Any, cluster: Any, releases: list[tuple[str, str]]) -> list[dict[str, Any]]:
    from installer.deploy.cluster import ingress_addresses, ingress_controller_addresses
    from installer.deploy.readiness import ReadinessWatcher, workloads_from_manifest

    watcher = ReadinessWatcher(cluster.api)
    checks: list[dict[str, Any]] = []
    total = len(releases) + 2
    for index, (name, namespace) in enumerate(releases, 1):
        ctx.check_cancelled()
        info = (getattr(cluster.helm, "get", None) or cluster.helm.status)(name, namespace=namespace)
        if info is None:
            checks.append(_check(f"release.{name}", "fail", f"release {namespace}/{name} is not installed"))
            continue
        refs = workloads_from_manifest(info.manifest or "", namespace)
        states, breakage = watcher.observe(refs)
        waiting = [f"{s.kind}/{s.name} {s.ready}/{s.desired}" for s in states if not s.done]
        if breakage is not None:
            checks.append(_check(f"release.{name}", "fail", breakage.describe()))
        elif info.status != "deployed" or waiting:
            checks.append(_check(f"release.{name}", "fail",
                                 f"status {info.status}; not ready: {', '.join(waiting) or 'none'}"))
        else:
            ready = sum(s.ready for s in states)
            checks.append(_check(f"release.{name}", "pass", f"revision {info.revision}, {ready} ready"))
        ctx.progress(index, total, "checks", f"{name}: {checks[-1]['outcome']}")

    addresses = sorted({a for found in ingress_addresses(cluster.api).values() for a in found})
    addresses = addresses or ingress_controller_addresses(cluster.api)
    if addresses:
        checks.append(_check("ingress.address", "pass", f"ingress address {', '.join(addresses)}",
                             addresses=addresses))
    elif cluster.emulated:
        checks.append(_check("ingress.address", "skipped",
                             "the Kubernetes API is an emulator (no OpenAPI, no controllers): nothing assigns "
                             "load balancer addresses there"))
    else:
        checks.append(_check("ingress.address", "fail",
                             "no Ingress or LoadBalancer Service reports an address yet",
                             remediation="check the ingress-nginx Service in namespace backbone and the load "
                                         "balancer in front of the nodes"))
    ctx.progress(len(releases) + 1, total, "checks", "ingress")

    deployed = {name for name, _ in releases}
    if cluster.emulated:
        checks.append(_check("health.core", "skipped",
                             "the target is a Kubernetes emulator: no pod serves HTTP, so the health endpoints "
                             "behind the ingress cannot be reached; this check runs on real clusters"))
    elif not addresses:
        checks.append(_check("health.core", "skipped", "no ingress address to send requests to"))
    else:
        fqdn = ctx.answers.domain.fqdn
        tls = ctx.answers.domain.tls
        insecure = tls.mode == "self-signed"
        cafile = str(tls.cert) if tls.mode == "provided" and getattr(tls, "cert", None) else None
        for service, path in sorted(HEALTH_PATHS.items()):
            if service in deployed:
                checks.append(_health(service, fqdn, addresses[0], path, insecure, cafile))
    ctx.progress(total, total, "checks", "done")
    return checks


def _health(service: str, fqdn: str, address: str, path: str, insecure: bool,
            cafile: str | None = None) -> dict[str, Any]:
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
        return _check(f"health.{service}", "fail", f"{url}: {why}")
    finally:
        connection.close()
    if 200 <= status < 400:
        return _check(f"health.{service}", "pass", f"{url} answered {status}")
    return _check(f"health.{service}", "fail", f"{url} answered {status}")


def render_summary(ctx: Any) -> tuple[str, dict[str, Any]]:
    answers = ctx.answers
    fqdn = answers.domain.fqdn
    urls = {"digit": f"https://{fqdn}/", "employee": f"https://{fqdn}/employee/",
            "citizen": f"https://{fqdn}/citizen/"}
    secrets: list[dict[str, str]] = []
    monitoring = ctx.outputs.get("monitoring") or {}
    if answers.monitoring.enabled:
        urls["grafana"] = f"https://{fqdn}/grafana/"
        secrets.append(_secret_hint(addons.MONITORING_NAMESPACE, addons.GRAFANA_SECRET, "admin-password",
                                    "Grafana admin (user admin)"))
    if answers.ci.jenkins:
        urls["jenkins"] = f"https://{fqdn}/jenkins/"
        secrets.append(_secret_hint(addons.JENKINS_NAMESPACE, addons.JENKINS_SECRET, "jenkins-admin-password",
                                    "Jenkins admin (user admin)"))
    shown_above = {"credentials.grafana_admin_password": answers.monitoring.enabled,
                   "credentials.jenkins_admin_password": answers.ci.jenkins}
    for key in _stored_keys(ctx):
        if shown_above.get(key):
            continue  # listed above, as the Secret the chart reads
        from installer.secretstore import CLUSTER_NAMESPACE, CLUSTER_SECRET

        secrets.append(_secret_hint(CLUSTER_NAMESPACE, CLUSTER_SECRET, key, key))
    deploy = ctx.outputs.get("deploy") or {}
    logs = sorted((str(p) for p in Path(ctx.state_dir).glob("logs/*.log")), key=lambda p: Path(p).stat().st_mtime)
    answers_path = getattr(answers, "source_path", None)
    lines = [f"DIGIT {answers.release.version} is installed as {answers.name!r}.", "", "Open:"]
    lines += [f"  {name:<9} {url}" for name, url in urls.items()]
    if secrets:
        lines += ["", "Generated credentials are kept in Kubernetes Secrets; read one with:"]
        lines += [f"  {s['what']}: {s['command']}" for s in secrets]
    counts = {k: len(deploy.get(k) or []) for k in ("deployed", "unchanged")}
    lines += ["", f"Releases: {counts['deployed']} deployed, {counts['unchanged']} unchanged"
              + (f"; monitoring: {len(monitoring.get('deployed') or []) + len(monitoring.get('unchanged') or [])}"
                 if monitoring else "")]
    lines += ["", f"Answers file: {answers_path or '(not saved)'}", f"State directory: {ctx.state_dir}"]
    lines += [f"Log of this run: {path}" for path in logs[-1:]]
    outputs = {"urls": urls, "secrets": secrets, "answers": str(answers_path) if answers_path else None,
               "state_dir": str(ctx.state_dir), "log": logs[-1] if logs else None}
    return "\n".join(lines), outputs


def _secret_hint(namespace: str, name: str, key: str, what: str) -> dict[str, str]:
    jsonpath = "{.data." + key.replace(".", "\\.") + "}" if key else "{.data}"
    command = f"kubectl -n {namespace} get secret {name} -o jsonpath='{jsonpath}'" + (" | base64 -d" if key else "")
    return {"namespace": namespace, "name": name, "key": key, "what": what, "command": command}


def _stored_keys(ctx: Any) -> list[str]:
    """Names (never values) of the generated secrets the installer keeps."""
    from installer.secretstore import SecretStore, SecretStoreError

    try:
        return sorted(SecretStore(Path(ctx.state_dir)).load())
    except SecretStoreError:
        return []
