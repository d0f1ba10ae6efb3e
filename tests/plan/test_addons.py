"""Monitoring and Jenkins values derived from the answers (pure functions; the rig tests deploy them)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from ruamel.yaml import YAML

from installer.plan import addons


def monitoring(email=None, webhook=None, tracing=False):
    return SimpleNamespace(tracing=tracing, alerts=SimpleNamespace(email=email, webhook=webhook))


def test_alertmanager_receives_at_the_answers_addresses() -> None:
    overlays = addons.monitoring_overlays(monitoring("ops@example.gov.in", "https://hooks.example.gov.in/digit"))
    config = overlays["kube-prometheus-stack"]["alertmanager"]["config"]
    receiver = next(r for r in config["receivers"] if r["name"] == config["route"]["receiver"])
    assert receiver["email_configs"] == [{"to": "ops@example.gov.in", "send_resolved": True}]
    assert receiver["webhook_configs"] == [{"url": "https://hooks.example.gov.in/digit", "send_resolved": True}]
    assert "jaeger" not in overlays

    quiet = addons.monitoring_overlays(monitoring())["kube-prometheus-stack"]["alertmanager"]["config"]
    assert quiet["receivers"][0] == {"name": "digit-operators"}


def test_grafana_reads_its_admin_from_a_secret_and_gets_the_digit_dashboards() -> None:
    grafana = addons.monitoring_overlays(monitoring(tracing=True))["grafana"]
    assert grafana["admin"]["existingSecret"] == addons.GRAFANA_SECRET
    assert "adminPassword" not in grafana
    dashboards = grafana["dashboards"]["digit"]
    assert dashboards and all(json.loads(d["json"])["title"] for d in dashboards.values())
    provider = grafana["dashboardProviders"]["dashboardproviders.yaml"]["providers"][0]
    assert provider["name"] == "digit"


def test_jaeger_only_with_tracing_and_its_password_from_a_secret() -> None:
    jaeger = addons.monitoring_overlays(monitoring(tracing=True))["jaeger"]
    assert jaeger["storage"]["elasticsearch"]["existingSecret"] == addons.JAEGER_ES_SECRET
    assert "password" not in jaeger["storage"]["elasticsearch"]


def test_jenkins_casc_seed_job_builds_from_the_configs_repo() -> None:
    repos = SimpleNamespace(configs=SimpleNamespace(url="git@git.sdc.local:digit/configs.git", branch="UAT"))
    controller = addons.jenkins_overlay(repos, "uat.digit.example.gov.in")["controller"]
    assert controller["admin"]["existingSecret"] == addons.JENKINS_SECRET
    assert controller["jenkinsUrl"] == "https://uat.digit.example.gov.in/jenkins"
    casc = YAML(typ="safe").load(controller["JCasC"]["configScripts"]["digit-seed"])
    script = casc["jobs"][0]["script"]
    assert "pipelineJob('seed-digit-builds')" in script
    assert 'url("git@git.sdc.local:digit/configs.git")' in script and 'branch("UAT")' in script


def test_deep_merge_keeps_plan_values_and_adds_the_overlay() -> None:
    from installer.plan.values import deep_merge

    base = {"admin": {"user": "admin"}, "replicas": 1}
    merged = deep_merge(base, {"admin": {"existingSecret": "s"}})
    assert merged == {"admin": {"user": "admin", "existingSecret": "s"}, "replicas": 1}
    assert base == {"admin": {"user": "admin"}, "replicas": 1}, "the plan's own values are left as they were"
