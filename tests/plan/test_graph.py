"""Release selection, dependency graph and waves: ordering and the errors that name their culprit."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.plan.graph import PlanError, build_graph
from installer.profiles import ReleaseProfile
from tests.plan.conftest import SAMPLE_CHARTS, SAMPLE_PROFILES

ALL_OFF = {"in_cluster_database": False, "monitoring": False, "tracing": False, "jenkins": False}


def _sample_profile() -> ReleaseProfile:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load((SAMPLE_PROFILES / "releases" / "digit-sample.yaml").read_text())
    return ReleaseProfile.model_validate(data)


def _profile(releases: list[dict], modules: list[dict] | None = None) -> ReleaseProfile:
    return ReleaseProfile.model_validate({
        "name": "digit-test", "digit_version": "v2.9", "source": "tests",
        "default_modules": ["core"],
        "modules": modules or [{"name": "core", "description": "core"}],
        "releases": releases,
    })


def _charts(tmp_path: Path, *names: str) -> Path:
    for name in names:
        chart = tmp_path / name
        chart.mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
    return tmp_path


def test_sample_profile_waves_follow_needs_and_module_order() -> None:
    graph = build_graph(_sample_profile(), SAMPLE_CHARTS, [], dict(ALL_OFF, in_cluster_database=True))
    waves = graph.waves
    assert len(waves) >= 3
    assert set(waves[0]) == {"postgresql", "kafka-kraft", "elasticsearch", "redis", "ingress-nginx"}
    wave_of = {r.name: r.wave for r in graph.releases}
    assert wave_of["egov-mdms-service"] > wave_of["configmaps"] > wave_of["postgresql"]
    assert wave_of["egov-enc-service"] > wave_of["egov-mdms-service"]
    assert wave_of["egov-user"] > wave_of["egov-enc-service"]
    assert wave_of["egov-hrms"] > wave_of["egov-user"]
    # m_pgr depends on core: pgr-services waits for every core release.
    assert wave_of["pgr-services"] > max(r.wave for r in graph.releases if r.module == "core")
    assert "jenkins" not in wave_of and "grafana" not in wave_of


def test_conditions_choose_database_monitoring_tracing_and_ci() -> None:
    profile = _sample_profile()
    external = build_graph(profile, SAMPLE_CHARTS, ["core"], ALL_OFF)
    assert "postgresql" not in {r.name for r in external.releases}
    assert ("postgresql", "condition in_cluster_database is false") in external.skipped
    everything = build_graph(profile, SAMPLE_CHARTS, ["core"],
                             {"in_cluster_database": True, "monitoring": True, "tracing": True, "jenkins": True})
    names = {r.name for r in everything.releases}
    assert {"postgresql", "grafana", "kube-prometheus-stack", "jaeger", "jenkins"} <= names
    assert "pgr-services" not in names  # m_pgr was not asked for


def test_the_same_input_gives_the_same_graph() -> None:
    first = build_graph(_sample_profile(), SAMPLE_CHARTS, ["m_pgr"], ALL_OFF)
    second = build_graph(_sample_profile(), SAMPLE_CHARTS, ["m_pgr"], ALL_OFF)
    assert first == second
    assert [r.name for r in first.releases] == sorted((r.name for r in first.releases),
                                                       key=lambda n: (first.release(n).wave, n))


def test_a_cycle_is_named(tmp_path: Path) -> None:
    profile = _profile([
        {"name": "a", "chart": "a", "namespace": "egov", "module": "core", "needs": ["c"]},
        {"name": "b", "chart": "b", "namespace": "egov", "module": "core", "needs": ["a"]},
        {"name": "c", "chart": "c", "namespace": "egov", "module": "core", "needs": ["b"]},
    ])
    with pytest.raises(PlanError, match=r"release dependency cycle: a -> c -> b -> a"):
        build_graph(profile, _charts(tmp_path, "a", "b", "c"), [], ALL_OFF)


def test_a_missing_chart_is_named(tmp_path: Path) -> None:
    profile = _profile([{"name": "a", "chart": "core-services/a", "namespace": "egov", "module": "core"},
                        {"name": "b", "chart": "core-services/b", "namespace": "egov", "module": "core"}])
    with pytest.raises(PlanError) as caught:
        build_graph(profile, _charts(tmp_path, "core-services/a"), [], ALL_OFF)
    assert "b (" in str(caught.value) and "core-services/b" in str(caught.value)
    assert "a (" not in str(caught.value)
    assert caught.value.key == "release.charts"


def test_an_unknown_module_is_named(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as caught:
        build_graph(_sample_profile(), SAMPLE_CHARTS, ["core", "m_nope"], ALL_OFF)
    assert "module 'm_nope' does not exist" in str(caught.value)
    assert caught.value.key == "release.modules[1]"


def test_needs_outside_the_plan_are_named(tmp_path: Path) -> None:
    profile = _profile(
        [{"name": "db", "chart": "db", "namespace": "backbone", "module": "core", "when": "in_cluster_database"},
         {"name": "svc", "chart": "svc", "namespace": "egov", "module": "core", "needs": ["db"]},
         {"name": "ui", "chart": "ui", "namespace": "egov", "module": "extra", "needs": []},
         {"name": "report", "chart": "report", "namespace": "egov", "module": "core2", "needs": ["ui"]}],
        modules=[{"name": "core", "description": "c"}, {"name": "extra", "description": "e"},
                 {"name": "core2", "description": "c2"}],
    )
    charts = _charts(tmp_path, "db", "svc", "ui", "report")
    with pytest.raises(PlanError, match=r"release svc needs db, which is not in the plan: it is left out "
                                        r"\(condition in_cluster_database is false\)"):
        build_graph(profile, charts, ["core"], ALL_OFF)
    with pytest.raises(PlanError, match=r"release report needs ui, which is not in the plan: its module is not selected"):
        build_graph(profile, charts, ["core2"], ALL_OFF)
