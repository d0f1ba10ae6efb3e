"""Monitoring and CI releases: which ones run, and the values the answers add to the plan's.

Admin passwords never go into Helm values (they would sit in the release record in clear text);
they go into Kubernetes Secrets that the charts reference through `existingSecret`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MONITORING_NAMESPACE = "monitoring"
JENKINS_NAMESPACE = "jenkins"
GRAFANA_SECRET = "digit-grafana-admin"
JENKINS_SECRET = "digit-jenkins-admin"
JAEGER_ES_SECRET = "digit-jaeger-elasticsearch"
MONITORING_RELEASES = ("kube-prometheus-stack", "grafana", "jaeger")
CI_RELEASES = ("jenkins",)
DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `overlay` merged in (mappings merge, everything else is replaced)."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def alertmanager_config(email: str | None, webhook: str | None) -> dict[str, Any]:
    """Alertmanager routing to the receivers named in the answers (none: alerts stay in the UI)."""
    receiver: dict[str, Any] = {"name": "digit-operators"}
    if email:
        receiver["email_configs"] = [{"to": email, "send_resolved": True}]
    if webhook:
        receiver["webhook_configs"] = [{"url": webhook, "send_resolved": True}]
    return {
        "route": {"receiver": "digit-operators", "group_by": ["alertname", "namespace"],
                  "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h",
                  "routes": [{"receiver": "null", "matchers": ['alertname = "Watchdog"']}]},
        "receivers": [receiver, {"name": "null"}],
    }


def dashboards() -> dict[str, dict[str, str]]:
    """DIGIT dashboards shipped with the installer, in the grafana chart's `dashboards` shape."""
    found = {}
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        found[path.stem] = {"json": path.read_text(encoding="utf-8")}
    return {"digit": found}


def monitoring_overlays(monitoring: Any, es_host: str = "elasticsearch-master.backbone") -> dict[str, dict[str, Any]]:
    """Values per monitoring release, to merge over the plan's."""
    alerts = monitoring.alerts
    prometheus_url = "http://kube-prometheus-stack-prometheus.monitoring:9090"
    overlays: dict[str, dict[str, Any]] = {
        "kube-prometheus-stack": {
            "grafana": {"enabled": False},  # Grafana is its own release, with its own admin secret
            "alertmanager": {"enabled": True, "config": alertmanager_config(alerts.email, alerts.webhook)},
        },
        "grafana": {
            "admin": {"existingSecret": GRAFANA_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "datasources": {"datasources.yaml": {"apiVersion": 1, "datasources": [
                {"name": "Prometheus", "type": "prometheus", "url": prometheus_url, "access": "proxy",
                 "isDefault": True}]}},
            "dashboardProviders": {"dashboardproviders.yaml": {"apiVersion": 1, "providers": [
                {"name": "digit", "orgId": 1, "folder": "DIGIT", "type": "file", "disableDeletion": False,
                 "options": {"path": "/var/lib/grafana/dashboards/digit"}}]}},
            "dashboards": dashboards(),
        },
    }
    if monitoring.tracing:
        overlays["jaeger"] = {
            "storage": {"type": "elasticsearch",
                        "elasticsearch": {"host": es_host, "port": 9200, "user": "elastic",
                                          "existingSecret": JAEGER_ES_SECRET, "existingSecretKey": "password"}},
            "provisionDataStore": {"cassandra": False, "elasticsearch": False},
        }
    return overlays


def jenkins_overlay(config_repos: Any, fqdn: str) -> dict[str, Any]:
    """Jenkins configured as code, with a seed job that creates DIGIT's build jobs from the configs repo."""
    repo = getattr(config_repos, "configs", None)
    url = getattr(repo, "url", "") or ""
    branch = getattr(repo, "branch", "") or "master"
    seed = (
        "pipelineJob('seed-digit-builds') {\n"
        "  description('Creates the DIGIT build jobs listed in build/build-config.yml')\n"
        "  definition {\n"
        "    cpsScm {\n"
        "      scm { git { remote { url(" + json.dumps(url) + "); credentials('git-sync') }; branch("
        + json.dumps(branch) + ") } }\n"
        "      scriptPath('build/seed.Jenkinsfile')\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    return {
        "controller": {
            "admin": {"existingSecret": JENKINS_SECRET, "userKey": "jenkins-admin-user",
                      "passwordKey": "jenkins-admin-password"},
            "jenkinsUrl": f"https://{fqdn}/jenkins",
            "jenkinsUriPrefix": "/jenkins",
            "JCasC": {"defaultConfig": True, "configScripts": {
                "digit-seed": "jobs:\n  - script: |\n" + "".join(f"      {line}\n" for line in seed.splitlines()),
            }},
            "installPlugins": False,  # air-gapped: plugins come with the controller image
        },
    }
