"""The Helm adapter against Helm's real engine: offline render, and releases on the emulator."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from installer.adapters.helm import (
    ChartNeedsNetwork,
    HelmEngineError,
    HelmSdkEngine,
    KubeAccess,
    ReleaseStorage,
)
from tests.plan.conftest import SAMPLE_CHARTS

USER_CHART = SAMPLE_CHARTS / "core-services" / "egov-user"
MDMS_CHART = SAMPLE_CHARTS / "core-services" / "egov-mdms-service"


def _documents(manifests: dict[str, str]) -> list[dict]:
    yaml = YAML(typ="safe")
    return [doc for text in manifests.values() for doc in yaml.load_all(text) if doc]


@pytest.fixture(scope="module")
def offline_engine():
    with HelmSdkEngine() as engine:
        yield engine


def test_render_resolves_the_common_library_offline(offline_engine: HelmSdkEngine) -> None:
    values = {"egov-user": {"replicas": 3, "heap": "-Xmx300m"}, "global": {"containerRegistry": "mirror.local:5000/egovio"}}
    docs = _documents(offline_engine.render(USER_CHART, values, release="egov-user", namespace="egov"))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["metadata"] == {"name": "egov-user", "namespace": "egov",
                                      "labels": {"app": "egov-user", "group": "rainmaker"}}
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["egov-user-db-migration"]
    assert pod["initContainers"][0]["image"] == "mirror.local:5000/egovio/egov-user-db:v1.2.8-9fde481-19"
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["JAVA_OPTS"] == "-Xmx300m"
    assert {d["kind"] for d in docs} == {"Deployment", "Service"}
    # The source tree is read, never written: the dependency is vendored in a private copy.
    assert not (USER_CHART / "charts").exists()


def test_load_reports_metadata_dependencies_and_a_stable_digest(offline_engine: HelmSdkEngine) -> None:
    first = offline_engine.load(MDMS_CHART)
    assert (first.name, first.version, first.dependencies) == ("egov-mdms-service", "0.1.0", ["common"])
    assert first.digest.startswith("sha256:") and first.digest == offline_engine.load(MDMS_CHART).digest
    assert (first.staged / "charts" / "common" / "Chart.yaml").is_file()


def test_template_failure_names_the_missing_value(offline_engine: HelmSdkEngine) -> None:
    with pytest.raises(HelmEngineError) as caught:
        offline_engine.render(MDMS_CHART, {}, release="egov-mdms-service", namespace="egov")
    assert caught.value.kind == "render"
    assert "egov-mdms-service.initContainers.gitSync.repo is required" in str(caught.value)


def test_lint_runs_on_the_staged_chart(offline_engine: HelmSdkEngine) -> None:
    report = offline_engine.lint(USER_CHART)
    assert report.ok, report
    assert any(m.path == "Chart.yaml" for m in report.messages)


def test_a_dependency_from_a_repository_is_an_air_gap_defect(tmp_path: Path, offline_engine: HelmSdkEngine) -> None:
    chart = tmp_path / "minio"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: minio\nversion: 13.3.1\ndependencies:\n"
        "  - name: common\n    version: 2.x.x\n    repository: oci://registry-1.docker.io/bitnamicharts\n"
    )
    with pytest.raises(ChartNeedsNetwork) as caught:
        offline_engine.render(chart, {}, release="minio", namespace="backbone")
    assert caught.value.dependency == "common"
    assert "oci://registry-1.docker.io/bitnamicharts" in str(caught.value)
    # Vendoring the dependency fixes it.
    vendored = chart / "charts" / "common"
    (vendored / "templates").mkdir(parents=True)
    (vendored / "Chart.yaml").write_text("apiVersion: v2\nname: common\nversion: 2.0.0\ntype: library\n")
    with HelmSdkEngine() as fresh:
        assert fresh.render(chart, {}, release="minio", namespace="backbone") == {}


def _api_get(kubeconfig: Path, path: str) -> dict | None:
    server = YAML(typ="safe").load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    try:
        with urllib.request.urlopen(server + path, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def test_release_lifecycle_survives_the_process(kube_api: Path, helm_sql_dsn: str) -> None:
    storage = ReleaseStorage("sql", sql_dsn=helm_sql_dsn)
    values = {"egov-user": {"replicas": 2}}
    with HelmSdkEngine(KubeAccess(kube_api), storage, openapi=False) as engine:
        installed = engine.install("egov-user", USER_CHART, values, namespace="egov", timeout=60,
                                   labels={"chart-digest": "0a1b2c"})
        assert (installed.revision, installed.status) == (1, "deployed")
        assert engine.history("egov-user", namespace="egov")[0].labels["chart-digest"] == "0a1b2c"
        deployment = _api_get(kube_api, "/apis/apps/v1/namespaces/egov/deployments/egov-user")
        assert deployment["spec"]["replicas"] == 2

        upgraded = engine.upgrade("egov-user", USER_CHART, {"egov-user": {"replicas": 4}}, namespace="egov", timeout=60)
        assert upgraded.revision == 2
        assert _api_get(kube_api, "/apis/apps/v1/namespaces/egov/deployments/egov-user")["spec"]["replicas"] == 4

        first = engine.get("egov-user", namespace="egov", revision=1)
        assert first.revision == 1 and "replicas: 2" in first.manifest
        assert "replicas: 4" in engine.get("egov-user", namespace="egov").manifest
        # `helm get values`: what the caller gave each revision, not the chart's defaults merged in.
        assert engine.values("egov-user", namespace="egov", revision=1) == values
        assert engine.values("egov-user", namespace="egov") == {"egov-user": {"replicas": 4}}
        with pytest.raises(HelmEngineError):
            engine.values("egov-user", namespace="egov", revision=9)

        rolled = engine.rollback("egov-user", namespace="egov", revision=1, timeout=60)
        assert (rolled.revision, rolled.status) == (3, "deployed")
        assert _api_get(kube_api, "/apis/apps/v1/namespaces/egov/deployments/egov-user")["spec"]["replicas"] == 2
        assert [(h.revision, h.status) for h in engine.history("egov-user", namespace="egov")] == [
            (1, "superseded"), (2, "superseded"), (3, "deployed")]

    # Another engine is another process: it sees the releases through the shared storage.
    with HelmSdkEngine(KubeAccess(kube_api), storage, openapi=False) as other:
        assert [(r.name, r.namespace, r.revision) for r in other.list()] == [("egov-user", "egov", 3)]
        assert other.status("egov-user", namespace="egov").chart_name == "egov-user"
        other.uninstall("egov-user", namespace="egov", timeout=60)
        assert other.status("egov-user", namespace="egov") is None
        assert other.list(all_states=True) == []
    assert _api_get(kube_api, "/apis/apps/v1/namespaces/egov/deployments/egov-user") is None


def test_memory_storage_is_forgotten_with_the_engine(kube_api: Path) -> None:
    with HelmSdkEngine(KubeAccess(kube_api), ReleaseStorage("memory"), openapi=False) as engine:
        engine.install("redis", SAMPLE_CHARTS / "backbone-services" / "redis", {}, namespace="backbone", timeout=60)
        assert [r.name for r in engine.list(namespace="backbone")] == ["redis"]
    with HelmSdkEngine(KubeAccess(kube_api), ReleaseStorage("memory"), openapi=False) as engine:
        assert engine.list(namespace="backbone") == []


def test_workers_run_helm_calls_in_parallel_with_secret_storage(kube_api: Path) -> None:
    """Helm's default secret storage on the emulator, several installs at once over two worker processes."""
    import threading

    charts = {"redis": SAMPLE_CHARTS / "backbone-services" / "redis",
              "egov-idgen": SAMPLE_CHARTS / "core-services" / "egov-idgen",
              "egov-localization": SAMPLE_CHARTS / "core-services" / "egov-localization"}
    with HelmSdkEngine(KubeAccess(kube_api), ReleaseStorage("secret"), openapi=False, workers=2) as engine:
        errors: list[BaseException] = []

        def install(name: str) -> None:
            try:
                engine.install(name, charts[name], {}, namespace="parallel", timeout=60)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=install, args=(name,)) for name in charts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors, errors
        # Three calls at once, two workers: both were started and neither is busy now.
        assert len(engine._idle) == 2 and not engine._busy
        assert sorted(r.name for r in engine.list(namespace="parallel")) == sorted(charts)
    with HelmSdkEngine(KubeAccess(kube_api), ReleaseStorage("memory"), openapi=False, workers=4) as engine:
        assert engine.workers == 1  # memory storage lives inside one worker
    with pytest.raises(ValueError):
        HelmSdkEngine(workers=0)


def test_charts_with_hooks_install_on_the_emulator(tmp_path: Path, kube_api: Path) -> None:
    chart = tmp_path / "hooked"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: hooked\nversion: 0.1.0\n")
    (chart / "templates" / "job.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n"
        "  annotations: {helm.sh/hook: pre-install}\n"
        "spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: busybox}]}}}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: hooked}\ndata: {a: b}\n")
    with HelmSdkEngine(KubeAccess(kube_api), ReleaseStorage("memory"), openapi=False) as engine:
        assert engine.install("hooked", chart, {}, namespace="hooks", timeout=30).status == "deployed"
    assert _api_get(kube_api, "/api/v1/namespaces/hooks/configmaps/hooked") is not None


def test_a_silent_api_server_is_cut_off_by_the_deadline(tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: s, cluster: {{server: 'http://127.0.0.1:{silent.getsockname()[1]}'}}}}]\n"
        "contexts: [{name: s, context: {cluster: s, user: u}}]\ncurrent-context: s\nusers: [{name: u, user: {}}]\n"
    )
    try:
        with HelmSdkEngine(KubeAccess(kubeconfig), call_timeout=3) as engine:
            with pytest.raises(HelmEngineError) as caught:
                engine.list()
            assert caught.value.kind == "timeout"
            # The hung worker was replaced: offline work goes on.
            assert engine.render(USER_CHART, {}, release="u", namespace="egov")
    finally:
        silent.close()


def test_cancel_stops_an_install_stuck_on_a_silent_api_server(tmp_path: Path) -> None:
    import threading
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: s, cluster: {{server: 'http://127.0.0.1:{silent.getsockname()[1]}'}}}}]\n"
        "contexts: [{name: s, context: {cluster: s, user: u}}]\ncurrent-context: s\nusers: [{name: u, user: {}}]\n"
    )
    try:
        with HelmSdkEngine(KubeAccess(kubeconfig), ReleaseStorage("memory"), cancel_grace=1) as engine:
            engine.render(USER_CHART, {}, release="warm", namespace="egov")  # worker up
            threading.Timer(0.5, engine.cancel).start()
            started = time.monotonic()
            with pytest.raises(HelmEngineError) as caught:
                engine.install("redis", SAMPLE_CHARTS / "backbone-services" / "redis", {}, namespace="x", timeout=60)
            assert caught.value.kind == "cancelled"
            assert time.monotonic() - started < 10
            assert engine.render(USER_CHART, {}, release="after", namespace="egov")
    finally:
        silent.close()


def test_storage_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        ReleaseStorage("sql")
    with pytest.raises(ValueError):
        ReleaseStorage("etcd")
    assert "password" not in repr(ReleaseStorage("sql", sql_dsn="host=x password=hunter2"))
