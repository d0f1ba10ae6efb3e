"""Monitoring and CI releases: the values the answers add to the chart defaults.

The plan merges these into its release values (build.py), so `plan`, configure and deploy see
the same values; the monitoring and ci steps create the Secrets named here.

Admin passwords never go into Helm values (they would sit in the release record in clear text);
they go into Kubernetes Secrets that the charts reference through `existingSecret`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from installer.plan.values import ES_MASTER_HOST

MONITORING_NAMESPACE = "monitoring"
JENKINS_NAMESPACE = "jenkins"
GRAFANA_SECRET = "digit-grafana-admin"
JENKINS_SECRET = "digit-jenkins-admin"
JAEGER_ES_SECRET = "digit-jaeger-elasticsearch"
DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"


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


def dashboards() -> dict[str, dict[str, dict[str, str]]]:
    """DIGIT dashboards shipped with the installer, in the grafana chart's `dashboards` shape."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        found[path.stem] = {"json": path.read_text(encoding="utf-8")}
    return {"digit": found}


def monitoring_overlays(monitoring: Any, es_host: str = ES_MASTER_HOST) -> dict[str, dict[str, Any]]:
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


def addon_overlays(answers: Any) -> dict[str, dict[str, Any]]:
    """The monitoring and Jenkins values this install adds, per release name."""
    overlays: dict[str, dict[str, Any]] = {}
    if answers.monitoring.enabled:
        overlays.update(monitoring_overlays(answers.monitoring))
    if answers.ci.jenkins:
        overlays["jenkins"] = jenkins_overlay(answers.config_repos, answers.domain.fqdn)
    return overlays
