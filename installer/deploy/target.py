"""The target cluster as the deploy steps use it: the Kubernetes API and a Helm engine over it.

Helm's release storage follows HELM_DRIVER / HELM_DRIVER_SQL_CONNECTION_STRING, as Helm's own CLI does.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from installer.answers import Answers
from installer import redact
from installer.adapters.kube import KubeCluster
from installer.engine import StepContext, StepFailed
from installer.plan.provisioned import kube_access

HELM_DRIVER_ENV = "HELM_DRIVER"
HELM_SQL_DSN_ENV = "HELM_DRIVER_SQL_CONNECTION_STRING"
HELM_SLOTS_ENV = "DIGIT_INSTALLER_DEPLOY_CONCURRENCY"
DEFAULT_HELM_SLOTS = 4


def helm_slots() -> int:
    """How many Helm calls may run at once (DIGIT_INSTALLER_DEPLOY_CONCURRENCY, default 4): the executor's
    bound and the Helm engine's worker processes alike."""
    try:
        return max(1, int(os.environ.get(HELM_SLOTS_ENV) or DEFAULT_HELM_SLOTS))
    except ValueError:
        return DEFAULT_HELM_SLOTS


@dataclass
class Cluster:
    api: KubeCluster
    helm: Any
    publishes_openapi: bool  # False: Helm must not validate against an OpenAPI schema the API does not serve


def open_cluster(ctx: StepContext[Answers]) -> Cluster:
    """A Kubernetes client and a Helm engine for the target; Helm storage follows HELM_DRIVER like Helm's CLI."""
    from installer.adapters.helm import HelmSdkEngine, KubeAccess, ReleaseStorage
    from installer.adapters.kube import KubeConfigError, KubeError
    from installer.deploy.cluster import connect_cluster

    kubeconfig, context = kube_access(ctx)
    try:
        api = connect_cluster(kubeconfig, context)
        openapi = api.publishes_openapi()
    except KubeConfigError as error:
        raise StepFailed(f"cannot use the kubeconfig: {error}",
                         remediation="check target.kubeconfig / target.context in the answers") from None
    except KubeError as error:
        raise StepFailed(f"the Kubernetes API does not answer: {error}",
                         remediation="check that the cluster is up and reachable from this machine") from None
    driver = os.environ.get(HELM_DRIVER_ENV) or "secret"
    if driver == "configmap":
        raise StepFailed(f"{HELM_DRIVER_ENV}=configmap would keep every release record, its values and so DIGIT's "
                         "secrets included, in ConfigMaps that anyone allowed to read ConfigMaps can read",
                         remediation=f"unset {HELM_DRIVER_ENV} (Helm's default, secret) or use sql")
    dsn = os.environ.get(HELM_SQL_DSN_ENV) if driver == "sql" else None
    if driver == "sql" and not dsn:
        raise StepFailed(f"{HELM_DRIVER_ENV}=sql needs {HELM_SQL_DSN_ENV}",
                         remediation=f"set {HELM_SQL_DSN_ENV} to the PostgreSQL DSN of Helm's release storage")
    if dsn:
        _register_dsn(dsn)
    engine = HelmSdkEngine(KubeAccess(kubeconfig, context), ReleaseStorage(driver, sql_dsn=dsn), openapi=openapi,
                           workers=helm_slots())
    return Cluster(api, engine, openapi)


def _register_dsn(dsn: str) -> None:
    """Mask the DSN and the password inside it (URL or key=value form) wherever it could be echoed."""
    import re
    import urllib.parse

    redact.register(dsn)
    if "://" in dsn:
        redact.register(urllib.parse.unquote(urllib.parse.urlsplit(dsn).password or ""))
    for match in re.finditer(r"password\s*=\s*('[^']*'|\S+)", dsn):
        redact.register(match.group(1).strip("'"))
