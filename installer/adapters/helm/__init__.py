"""Helm's real engine (helm-python-sdk, Helm v4's Go SDK) behind a small interface.

    engine = HelmSdkEngine(kube=KubeAccess(kubeconfig=Path, context=None),
                           storage=ReleaseStorage("secret"),        # or "memory", or
                           # ReleaseStorage("sql", sql_dsn="host=... dbname=...")
                           openapi=True)    # False: the server publishes no OpenAPI (the rig)
    with engine:                                                    # close() stops the worker
        chart = engine.load(path)          -> ChartInfo (name, version, staged dir, digest, deps)
        engine.lint(path, values)          -> LintReport (messages, errors, ok)
        engine.render(path, values, release=, namespace=)  -> dict[template path, manifest]
        engine.install(release, path, values, namespace=, timeout=, description=, labels=)  -> ReleaseInfo
        engine.upgrade(release, path, values, namespace=, timeout=, description=, labels=,
                       install=False)      -> ReleaseInfo (install=True: install when absent)
        engine.rollback(release, namespace=, revision=None, timeout=)            -> ReleaseInfo
        engine.history(release, namespace=)  -> list[ReleaseInfo], oldest first
        engine.status(release, namespace=)   -> ReleaseInfo | None
        engine.get(release, namespace=, revision=None) -> ReleaseInfo | None (stored revision with its
                                             manifest, from release storage only)
        engine.values(release, namespace=, revision=None) -> dict (the user-supplied values, as
                                             `helm get values`; they hold secrets)
        engine.uninstall(release, namespace=, timeout=, keep_history=False)      -> None
        engine.list(namespace=None, all_states=False)  -> list[ReleaseInfo] (None = every namespace)
        engine.cancel()                      cancels the install/upgrade in flight

One module per job:
    interface.py  the HelmEngine contract, value types, errors (HelmEngineError.kind, ChartNeedsNetwork,
                  ReleaseNotFound); what each call raises and times out on
    staging.py    ChartStager: private chart copies with file:// dependencies vendored (no network)
    digests.py    tree_digest / chart_digest of a chart as it would be staged
    client.py     HelmSdkEngine, the implementation; deadlines and restarts of the worker
    worker.py     the parent's side of the child process (and why Helm runs in one)
    server.py     the child process itself: the only module that imports helm_python

A call that outlives its deadline (Helm's timeout + 30 s, or call_timeout for reads) kills the
worker and raises kind "timeout"; the next call starts a fresh worker (memory storage is then empty).
"""
from __future__ import annotations

from installer.adapters.helm.client import DEADLINE_SLACK, DEFAULT_CALL_TIMEOUT, HelmSdkEngine
from installer.adapters.helm.digests import chart_digest, tree_digest
from installer.adapters.helm.interface import (
    SQL_DSN_ENV,
    STORAGE_DRIVERS,
    ChartInfo,
    ChartNeedsNetwork,
    HelmEngine,
    HelmEngineError,
    KubeAccess,
    LintMessage,
    LintReport,
    ReleaseInfo,
    ReleaseNotFound,
    ReleaseStorage,
)
from installer.adapters.helm.staging import ChartStager
from installer.adapters.helm.worker import CANCEL_GRACE, WORKER_START_TIMEOUT
from installer.yamlio import load_yaml, load_yaml_all

__all__ = [
    "CANCEL_GRACE", "DEADLINE_SLACK", "DEFAULT_CALL_TIMEOUT", "SQL_DSN_ENV", "STORAGE_DRIVERS",
    "WORKER_START_TIMEOUT", "ChartInfo", "ChartNeedsNetwork", "ChartStager", "HelmEngine",
    "HelmEngineError", "HelmSdkEngine", "KubeAccess", "LintMessage", "LintReport", "ReleaseInfo",
    "ReleaseNotFound", "ReleaseStorage", "chart_digest", "load_yaml", "load_yaml_all", "tree_digest",
]
