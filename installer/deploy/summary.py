"""The last step: where DIGIT, Grafana and Jenkins answer, where generated credentials live, where the logs are."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from installer.answers import Answers
from installer import redact
from installer.deploy.outputs import ReleasesOutput
from installer.engine import StepContext
from installer.files import atomic_write
from installer.plan import addons
from installer.secretstore import CLUSTER_NAMESPACE, CLUSTER_SECRET, SecretStore, SecretStoreError

SUMMARY_NAME = "summary.txt"
# Generated secrets a person logs in with, and how the summary names them; the rest are listed by key only
# (Grafana's and Jenkins' passwords are shown as their charts' own Secrets when those are deployed).
LOGINS = {"credentials.digit_superuser_password": "DIGIT superuser password",
          "credentials.elasticsearch_password": "Elasticsearch password (user elastic)"}


def summary(ctx: StepContext[Answers]) -> dict[str, Any]:
    """Where DIGIT, Grafana and Jenkins answer, where generated credentials live, and where the logs are."""
    text, outputs = render_summary(ctx)
    for line in text.splitlines():
        ctx.log(line)
    outputs["text"] = redact.mask(text)  # every face prints it again when the run ends (installer.app.closing)
    if not ctx.dry_run:
        atomic_write(ctx.state_dir / SUMMARY_NAME, redact.mask(text) + "\n", mode=0o644)
        outputs["summary_file"] = str(ctx.state_dir / SUMMARY_NAME)
    return outputs


def render_summary(ctx: StepContext[Answers]) -> tuple[str, dict[str, Any]]:
    answers = ctx.answers
    fqdn = answers.domain.fqdn
    urls = {"digit": f"https://{fqdn}/", "employee": f"https://{fqdn}/employee/",
            "citizen": f"https://{fqdn}/citizen/"}
    secrets: list[dict[str, str]] = []
    monitoring = ReleasesOutput.from_dict(ctx.outputs.get("monitoring"))
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
    others: list[str] = []
    for key in _stored_keys(ctx):
        if shown_above.get(key):
            continue  # listed above, as the Secret the chart reads
        if key in LOGINS:
            secrets.append(_secret_hint(CLUSTER_NAMESPACE, CLUSTER_SECRET, key, LOGINS[key]))
        else:
            others.append(key.removeprefix("credentials."))
    deploy = ReleasesOutput.from_dict(ctx.outputs.get("deploy"))
    logs = sorted((str(p) for p in Path(ctx.state_dir).glob("logs/*.log")), key=lambda p: Path(p).stat().st_mtime)
    answers_path = getattr(answers, "source_path", None)
    lines = [f"DIGIT is installed as {answers.name!r} (release profile {answers.release.version}).", "", "Open:"]
    lines += [f"  {name:<9} {url}" for name, url in urls.items()]
    if secrets:
        lines += ["", "Generated credentials are kept in Kubernetes Secrets; read each with:"]
        for hint in secrets:
            lines += [f"  {hint['what']}:", f"    {hint['command']}"]
    if others:
        # Keys no person logs in with (encryption material, Kafka's cluster id): named, not spelled out.
        lines += ["", f"Other generated secrets, in Secret {CLUSTER_NAMESPACE}/{CLUSTER_SECRET}: {', '.join(others)}"]
    ready = len(deploy.deployed) + len(deploy.unchanged)
    # "unchanged" alone read as "not done" after a resume that only waited for a release to become ready
    lines += ["", f"Releases: {ready} ready ({len(deploy.deployed)} installed or upgraded by this run, "
                  f"{len(deploy.unchanged)} already as planned)"
              + (f"; monitoring: {len(monitoring.ready)}" if "monitoring" in ctx.outputs else "")]
    lines += ["", f"Answers file: {answers_path or '(not saved)'}", f"State directory: {ctx.state_dir}"]
    lines += [f"Debug log: {path}" for path in logs[-1:]]
    outputs = {"urls": urls, "secrets": secrets, "answers": str(answers_path) if answers_path else None,
               "state_dir": str(ctx.state_dir), "log": logs[-1] if logs else None}
    return "\n".join(lines), outputs


def _secret_hint(namespace: str, name: str, key: str, what: str) -> dict[str, str]:
    jsonpath = "{.data." + key.replace(".", "\\.") + "}" if key else "{.data}"
    command = f"kubectl -n {namespace} get secret {name} -o jsonpath='{jsonpath}'" + (" | base64 -d" if key else "")
    return {"namespace": namespace, "name": name, "key": key, "what": what, "command": command}


def _stored_keys(ctx: StepContext[Answers]) -> list[str]:
    """Names (never values) of the generated secrets the installer keeps."""
    try:
        return sorted(SecretStore(Path(ctx.state_dir)).load())
    except SecretStoreError:
        return []
