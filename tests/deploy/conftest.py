"""Real parts for the deploy tests: the shared rig's emulator and PostgreSQL, Helm's engine with sql storage."""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import pytest

from installer.adapters.helm import HelmSdkEngine, KubeAccess, ReleaseStorage
from installer.deploy.executor import Executor, ReleaseEvent
from installer.deploy.helmops import EngineOperations
from installer.deploy.model import ReleaseSpec
from installer.adapters.kube import ApiCluster
from installer.deploy.informers import ObjectCache
from installer.deploy.readiness import ReadinessWatcher

REPO = Path(__file__).resolve().parents[2]
SAMPLE_CHARTS = REPO / "tests" / "fixtures" / "charts"
SAMPLE_PROFILE = REPO / "tests" / "fixtures" / "profiles" / "releases" / "digit-sample.yaml"
HELM_DATABASE = "helm_releases"
_namespaces = itertools.count(1)
# What the sample charts insist on (the plan fills these from the answers in a real run).
REQUIRED_VALUES = {
    "configmaps": {"configmaps": {"egov-config": {"data": {
        "db-host": "127.0.0.1", "db-name": "egov", "db-url": "jdbc:postgresql://127.0.0.1:5432/egov"}}}},
    "ingress-nginx": {"domain": "uat.digit.test"},
    "kafka-kraft": {"kraft": {"clusterId": "c2FtcGxlLWNsdXN0ZXI"}},
    "elasticsearch": {"secret": {"password": "sample-es-password"}},
    "grafana": {"adminPassword": "sample-grafana-password"},
    **{name: {name: {"initContainers": {"gitSync": {"repo": "git@git.sdc.local:digit/configs.git", "branch": "main"}}}}
       for name in ("egov-mdms-service", "egov-indexer", "egov-persister")},
}


def helm_dsn(rig) -> str:
    """Helm's sql release storage in the rig's PostgreSQL (the rig's own with --helm-driver sql, else a database made here)."""
    import psycopg

    if rig.env.get("HELM_DRIVER_SQL_CONNECTION_STRING"):
        return rig.env["HELM_DRIVER_SQL_CONNECTION_STRING"]
    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (HELM_DATABASE,)).fetchone():
            conn.execute(f"CREATE DATABASE {HELM_DATABASE}")
    return rig.pg_dsn_admin.replace("dbname=postgres", f"dbname={HELM_DATABASE}") + " sslmode=disable"


@pytest.fixture(scope="session")
def helm_storage_dsn(rig) -> str:
    return helm_dsn(rig)


_caches: list[ObjectCache] = []


@pytest.fixture(autouse=True)
def _close_watch_caches():
    """Stop the shared watches of the executors a test made."""
    yield
    while _caches:
        _caches.pop().close()


@pytest.fixture
def rollout(rig):
    """The shared rig's rollout simulator, ready at once for the test and put back as it was afterwards."""
    saved = rig.rollout_path.read_text() if rig.rollout_path.exists() else None
    rig.set_rollout(delay=0.0, never_ready=[], reason="CrashLoopBackOff")
    yield rig
    if saved is None:
        rig.rollout_path.unlink(missing_ok=True)
    else:
        tmp = rig.rollout_path.with_suffix(".restore")
        tmp.write_text(saved)
        tmp.rename(rig.rollout_path)


@pytest.fixture
def api(rig):
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(rig.kubeconfig_path))
    yield client
    client.close()


@pytest.fixture
def helm(rig, helm_storage_dsn):
    with HelmSdkEngine(KubeAccess(rig.kubeconfig_path), ReleaseStorage("sql", sql_dsn=helm_storage_dsn),
                       openapi=False, workers=4) as engine:
        yield engine


def sample_specs(suffix: str, *, timeout: float = 30.0, values: dict[str, dict] | None = None,
                 with_addons: bool = False) -> list[ReleaseSpec]:
    """The sample tree's releases (no in-cluster database), in namespaces of this test's own."""
    from ruamel.yaml import YAML

    profile = YAML(typ="safe").load(SAMPLE_PROFILE.read_text())
    releases = [r for r in profile["releases"] if not r.get("when") or (with_addons and r["when"] == "monitoring")]
    depth: dict[str, int] = {}

    def wave(name: str) -> int:
        if name not in depth:
            release = next(r for r in releases if r["name"] == name)
            depth[name] = 1 + max((wave(n) for n in release.get("needs") or []), default=-1)
        return depth[name]

    return [ReleaseSpec(name=r["name"], namespace=f"{r['namespace']}-{suffix}", chart=SAMPLE_CHARTS / r["chart"],
                        values={**required_values(r["name"], f"{r['namespace']}-{suffix}"),
                                **(values or {}).get(r["name"], {})}, needs=tuple(r.get("needs") or ()),
                        wave=wave(r["name"]), timeout=timeout)
            for r in releases]


def required_values(release: str, namespace: str) -> dict:
    values = dict(REQUIRED_VALUES.get(release, {}))
    if release == "configmaps":  # the service Secrets it renders go to this test's namespace
        values["secrets"] = {
            "db": {"name": "db", "namespace": namespace, "username": "egov", "password": "sample-db-password",
                   "flywayUsername": "egov", "flywayPassword": "sample-db-password"},
            "egov-enc-service": {"name": "egov-enc-service", "namespace": namespace, "master_password": "sample-mp",
                                 "master_salt": "sample-ms", "master_initialvector": "sample-iv"},
            "git-sync": {"name": "git-creds", "namespace": namespace, "ssh": "sample-key"},
            "elasticsearch": {"name": "elasticsearch-credentials", "namespace": namespace,
                              "password": "sample-es-password"},
        }
    return values


def unique_suffix() -> str:
    return f"t{os.getpid() % 1000}{next(_namespaces)}"


class Recorder:
    """Collects executor events with the moment they happened."""

    def __init__(self) -> None:
        self.events: list[ReleaseEvent] = []
        self.lock = threading.Lock()

    def __call__(self, event: ReleaseEvent) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, release: str, kind: str | None = None) -> list[ReleaseEvent]:
        return [e for e in self.events if e.release == release and (kind is None or e.kind == kind)]


def make_executor(helm, api, recorder=None, *, concurrency: int = 4, uninstall_failed_install: bool = False,
                  poll: float = 0.1) -> Executor:
    cluster = ApiCluster(api)
    cache = ObjectCache(cluster)  # shared watches, as the deploy step uses them
    _caches.append(cache)
    return Executor(EngineOperations(helm), ReadinessWatcher(cluster, poll_interval=poll, claim_grace=2.0, cache=cache),
                    installer_version="test", concurrency=concurrency,
                    uninstall_failed_install=uninstall_failed_install, on_event=recorder)
