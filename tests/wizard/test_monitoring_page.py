"""The Monitoring page checks the charts monitoring, tracing and Jenkins need against the chart folder, where
they are switched on: otherwise the install finds them missing only after the database step."""
from __future__ import annotations

import shutil

import pytest

from tests.wizard.helpers import CHARTS, Driver
from tests.wizard.test_release_page import release_app

pytestmark = pytest.mark.timeout(60)


@pytest.mark.asyncio
async def test_tracing_and_jenkins_whose_charts_the_folder_lacks_are_refused_naming_them(tmp_path):
    charts = tmp_path / "charts"
    shutil.copytree(CHARTS, charts, symlinks=True)
    shutil.rmtree(charts / "monitoring" / "jaeger")
    shutil.rmtree(charts / "ci")
    app = release_app(tmp_path / "site")  # the example file: monitoring and tracing on, Jenkins off
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "release", "the release page")
        await d.set("release", ("version",), "digit-sample")
        await d.type("release", ("charts",), str(charts))
        await d.next()
        assert app.screen.PAGE == "monitoring", d.status()

        await d.next()
        assert app.screen.PAGE == "monitoring", "Next let tracing through without the jaeger chart"
        assert d.status().startswith("Next is blocked: monitoring.tracing: "), d.status()
        error = d.errors("monitoring", ("tracing",))
        assert "monitoring/jaeger" in error and str(charts) in error, error
        assert "monitoring.tracing: false" in error and "air-gap bundle" in error, error
        assert d.errors("monitoring", ("enabled",)) == ""  # kube-prometheus-stack and grafana are there

        await d.set("monitoring", ("tracing",), False)
        await d.set("ci", ("jenkins",), True)
        await d.next()
        assert app.screen.PAGE == "monitoring", "Next let Jenkins through without its chart"
        assert d.status().startswith("Next is blocked: ci.jenkins: "), d.status()
        error = d.errors("ci", ("jenkins",))
        assert "ci/jenkins" in error and "ci.jenkins: false" in error, error

        await d.set("ci", ("jenkins",), False)
        await d.next()
        assert app.screen.PAGE == "review", d.status()
        assert app.state.draft["monitoring"]["tracing"] is False and app.state.draft["ci"]["jenkins"] is False


@pytest.mark.asyncio
async def test_monitoring_without_its_charts_is_refused_with_the_switch_that_leaves_it_out(tmp_path):
    """DIGIT-DevOps' own tree has no monitoring charts: monitoring on is refused, off goes on."""
    charts = tmp_path / "charts"
    shutil.copytree(CHARTS, charts, symlinks=True)
    shutil.rmtree(charts / "monitoring")
    app = release_app(tmp_path / "site")
    async with app.run_test(size=(80, 24)) as pilot:
        d = Driver(app, pilot)
        await d.wait_for(lambda: getattr(app.screen, "PAGE", "") == "release", "the release page")
        await d.set("release", ("version",), "digit-sample")
        await d.type("release", ("charts",), str(charts))
        await d.next()
        assert app.screen.PAGE == "monitoring", d.status()
        await d.set("monitoring", ("tracing",), False)
        await d.next()
        assert app.screen.PAGE == "monitoring", "Next let monitoring through without its charts"
        error = d.errors("monitoring", ("enabled",))
        assert "monitoring/kube-prometheus-stack" in error and "monitoring/grafana" in error, error
        assert "monitoring.enabled: false" in error, error
        await d.set("monitoring", ("enabled",), False)
        await d.next()
        assert app.screen.PAGE == "review", d.status()
        assert app.state.draft["monitoring"]["enabled"] is False


def test_the_lts_monitoring_charts_are_said_to_come_with_a_bundle_and_jenkins_is_not(tmp_path):
    """DIGIT-DevOps' LTS tree has every chart but the monitoring ones (its helmfile pulls them) and Jenkins:
    the profile's chart_sources name where bundle create fetches the monitoring charts; nothing fetches Jenkins."""
    from installer.profiles import release_profile
    from screens.chart_checks import switch_errors

    profile = release_profile("digit-2.9-lts")
    for spec in profile.releases:
        if not spec.chart.startswith(("monitoring/", "ci/")):
            (tmp_path / spec.chart).mkdir(parents=True, exist_ok=True)
            (tmp_path / spec.chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {spec.name}\nversion: 0.1.0\n")
    draft = {"release": {"version": "digit-2.9-lts", "charts": str(tmp_path)}, "database": {"mode": "external"}}
    monitoring = {e.key: e.message for e in switch_errors("monitoring", {"enabled": True, "tracing": True}, draft, tmp_path)}
    assert set(monitoring) == {"monitoring.enabled", "monitoring.tracing"}
    assert monitoring["monitoring.enabled"].startswith("needs monitoring/kube-prometheus-stack, monitoring/grafana, ")
    assert "bundle create fetches them from their Helm repositories" in monitoring["monitoring.enabled"]
    assert "bundle create fetches it from its Helm repository" in monitoring["monitoring.tracing"]
    (jenkins,) = switch_errors("ci", {"jenkins": True}, draft, tmp_path)
    assert jenkins.loc == ("jenkins",) and "ci/jenkins" in jenkins.message and "fetches" not in jenkins.message
    assert switch_errors("monitoring", {"enabled": False}, draft, tmp_path) == []
    assert switch_errors("ci", {}, draft, tmp_path) == []
