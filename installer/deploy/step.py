"""Pipeline steps of the deploy area: database, deploy, monitoring, ci, verify, summary.

Each is `def step(ctx) -> dict`; the returned dict is recorded in the journal (no secret values).
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from installer import __version__, redact
from installer.adapters.kube import KubeCluster
from installer.engine import Cancelled, StepContext, StepFailed
from installer.plan import PlanError, ReleasePlan, addons, build_plan
from installer.deploy.model import DEPLOYED, FAILED, SKIPPED, UNCHANGED, DeployReport, ReleaseSpec

CONCURRENCY_ENV = "DIGIT_INSTALLER_DEPLOY_CONCURRENCY"
UNINSTALL_FAILED_ENV = "DIGIT_INSTALLER_UNINSTALL_FAILED_INSTALL"
POLL_ENV = "DIGIT_INSTALLER_READINESS_POLL"
HELM_DRIVER_ENV = "HELM_DRIVER"
HELM_SQL_DSN_ENV = "HELM_DRIVER_SQL_CONNECTION_STRING"
DEFAULT_CONCURRENCY = 4
REPORT_NAME = "deploy-report.json"
SUMMARY_NAME = "summary.txt"
# Releases of these modules belong to the monitoring and ci steps, not to deploy.
ADDON_MODULES = {"monitoring": "monitoring", "ci": "ci"}


# --- database ---------------------------------------------------------------------------------------
def database(ctx: StepContext) -> dict:
    """External and managed databases: create the database and the Flyway user when missing."""
    from installer.deploy.database import DatabaseBootstrapError, DatabaseTarget, bootstrap_database

    answers = ctx.answers
    db = answers.database
    if db.mode == "in-cluster":
        ctx.log("in-cluster PostgreSQL: the postgresql release comes with the backbone wave of deploy")
        return {"mode": "in-cluster", "name": db.name, "host": "postgresql.backbone", "port": 5432}
    if db.mode == "managed":
        from installer.plan.provisioned import provisioned_database

        provisioned = provisioned_database(ctx.outputs)
        if provisioned is None:
            raise StepFailed("the managed database's endpoint is unknown: the provision step recorded none",
                             remediation="run the provision step first (./install.sh --answers FILE --resume)")
        password = answers.secret(db.password) or _credential(ctx, "database.password")
        target = DatabaseTarget(host=provisioned.host, port=provisioned.port, name=provisioned.name,
                                username=provisioned.username, password=password or "",
                                flyway_username=provisioned.username, flyway_password=password,
                                sslmode=db.sslmode)
    else:
        password = answers.secret(db.password)
        flyway_password = answers.secret(db.flyway_password) if db.flyway_password is not None else password
        admin_password = answers.secret(db.admin_password) if db.admin_password is not None else None
        target = DatabaseTarget(host=db.host, port=db.port, name=db.name, username=db.username,
                                password=password or "", flyway_username=db.flyway_username or db.username,
                                flyway_password=flyway_password, sslmode=db.sslmode,
                                admin_username=db.admin_username, admin_password=admin_password)
    ctx.progress(0, 1, "database", f"{target.host}:{target.port}/{target.name}")
    try:
        result = bootstrap_database(target, dry_run=ctx.dry_run)
    except DatabaseBootstrapError as error:
        raise StepFailed(str(error), remediation=error.remediation) from None
    for action in result.actions:
        ctx.log(("would " if ctx.dry_run else "") + action)
    if not result.actions:
        ctx.log(f"database {target.name} and its users already exist; nothing to do")
    ctx.progress(1, 1, "database", "ready")
    return {"mode": db.mode, "host": target.host, "port": target.port, "name": target.name,
            "username": target.username, "flyway_username": target.flyway_username, **result.to_dict()}


# --- shared plumbing ---------------------------------------------------------------------------------
def _credential(ctx: StepContext, key: str) -> str | None:
    """A generated credential from the secret store (created by the configure step)."""
    from installer import secretstore

    value = secretstore.get(ctx, key)
    redact.register(value)
    return value


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def kube_access(ctx: StepContext) -> tuple[Path | None, str | None]:
    target = ctx.answers.target
    provisioned = ctx.outputs.get("provision") or {}
    kubeconfig = provisioned.get("kubeconfig") or getattr(target, "kubeconfig", None)
    return (Path(kubeconfig) if kubeconfig else None), getattr(target, "context", None)


@dataclass
class Cluster:
    api: KubeCluster
    helm: Any
    emulated: bool


def open_cluster(ctx: StepContext) -> Cluster:
    """A Kubernetes client and a Helm engine for the target; Helm storage follows HELM_DRIVER like Helm's CLI."""
    from installer.adapters.helm import HelmSdkEngine, KubeAccess, ReleaseStorage
    from installer.adapters.kube import KubeConfigError, KubeError
    from installer.deploy.cluster import connect_cluster

    kubeconfig, context = kube_access(ctx)
    try:
        api = connect_cluster(kubeconfig, context)
        emulated = not api.publishes_openapi()
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
    engine = HelmSdkEngine(KubeAccess(kubeconfig, context), ReleaseStorage(driver, sql_dsn=dsn), emulator=emulated)
    return Cluster(api, engine, emulated)


def _register_dsn(dsn: str) -> None:
    """Mask the DSN and the password inside it (URL or key=value form) wherever it could be echoed."""
    import re
    import urllib.parse

    redact.register(dsn)
    if "://" in dsn:
        redact.register(urllib.parse.unquote(urllib.parse.urlsplit(dsn).password or ""))
    for match in re.finditer(r"password\s*=\s*('[^']*'|\S+)", dsn):
        redact.register(match.group(1).strip("'"))


def _planned(ctx: StepContext) -> list[ReleasePlan]:
    """The plan's releases, built as the configure step built them (same answers, same stored secrets)."""
    from installer.secretstore import KubeClusterCopy, SecretStore, SecretStoreError

    cluster = None
    if ctx.dry_run:
        # A dry run from a jump host without the local copy must predict with the values the cluster
        # keeps (read only), or every release would look changed.
        from installer.deploy.cluster import connect_cluster

        kubeconfig, context = kube_access(ctx)
        cluster = KubeClusterCopy(connect_cluster(kubeconfig, context))
    try:
        plan = build_plan(ctx.answers, store=SecretStore(Path(ctx.state_dir), cluster=cluster, persist=not ctx.dry_run),
                          outputs=ctx.outputs)
    except PlanError as error:
        raise StepFailed(f"cannot build the deployment plan: {error}",
                         remediation=f"fix {error.key} in the answers file" if error.key else
                         "run `./install.sh plan --answers FILE` to see the problem") from None
    except SecretStoreError as error:
        raise StepFailed(f"generated secrets are unavailable: {error}",
                         remediation="rerun with --resume so the configure step restores them") from None
    return plan.releases()


def release_specs(ctx: StepContext, modules: set[str] | None, exclude: set[str] = frozenset()) -> list[ReleaseSpec]:
    """The plan's releases of the given modules (None: every module not in `exclude`), values as planned."""
    chosen = [r for r in _planned(ctx)
              if (modules is None and r.module not in exclude) or (modules is not None and r.module in modules)]
    names = {r.name for r in chosen}
    return [ReleaseSpec(
        name=r.name, namespace=r.namespace, chart=r.chart, values=r.values,
        # Needs outside this step's releases were made ready by an earlier step.
        needs=tuple(n for n in r.needs if n in names), wave=r.wave, timeout=r.timeout,
        chart_digest=r.chart_digest, values_digest=r.values_digest) for r in chosen]


class _Reporter:
    """Turns executor events into step progress, logs and per-release task results."""

    def __init__(self, ctx: StepContext, total: int) -> None:
        self.ctx = ctx
        self.total = total
        self.finished = 0
        self.lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        ctx = self.ctx
        try:
            if event.kind == "progress":
                ctx.progress(event.ready, event.desired, "replicas", event.message, task=event.release)
            elif event.kind == "started":
                ctx.log(event.message, task=event.release)
            elif event.kind in ("ready", "unchanged", "failed", "skipped", "cancelled"):
                outcome = {"ready": "succeeded", "unchanged": "unchanged"}.get(event.kind, event.kind)
                if event.kind == "failed":
                    ctx.log(event.message, level="error", task=event.release)
                ctx.task_done(event.release, outcome, event.message.splitlines()[0] if event.message else "")
                with self.lock:
                    self.finished += 1
                    finished = self.finished
                ctx.progress(finished, self.total, "releases", f"{event.release} {event.kind}")
            else:
                ctx.log(event.message, level="warning", task=event.release)
        except Cancelled:
            pass  # the executor sees the same cancellation event and stops cleanly


def run_releases(ctx: StepContext, specs: list[ReleaseSpec], label: str, cluster: Cluster | None = None) -> dict:
    """Deploy `specs` through the executor; raise StepFailed naming every failed release."""
    from installer.deploy.executor import Executor, PlanError
    from installer.deploy.helmops import EngineOperations
    from installer.deploy.readiness import ReadinessWatcher

    if not specs:
        ctx.log(f"no {label} releases in the plan")
        return {"releases": 0, "deployed": [], "unchanged": [], "failed": [], "skipped": []}
    own = cluster is None
    cluster = cluster or open_cluster(ctx)
    try:
        operations = EngineOperations(cluster.helm)
        watcher = ReadinessWatcher(cluster.api, poll_interval=float(os.environ.get(POLL_ENV, "0.5")))
        executor = Executor(operations, watcher, installer_version=__version__,
                            concurrency=_env_int(CONCURRENCY_ENV, DEFAULT_CONCURRENCY),
                            uninstall_failed_install=os.environ.get(UNINSTALL_FAILED_ENV, "") in ("1", "true", "yes"),
                            on_event=_Reporter(ctx, len(specs)), cancelled=ctx.cancelled,
                            install=ctx.answers.name,
                            take_over=getattr(ctx.answers.target, "take_over_install", None))
        if ctx.dry_run:
            return _dry_run(ctx, specs, executor)
        ctx.progress(0, len(specs), "releases", f"{label}: {len(specs)} releases")
        try:
            report = executor.run(specs)
        except PlanError as error:
            raise StepFailed(f"the {label} plan is inconsistent: {error}",
                             remediation="run `./install.sh plan` to see the release graph") from None
    finally:
        if own:
            cluster.helm.close()
    _save_report(ctx, label, report)
    if ctx.cancelled.is_set():
        raise Cancelled(f"{label} cancelled")
    outputs = {"releases": len(specs), **{k: v for k, v in report.to_dict().items() if k != "releases"},
               "revisions": {n: r.revision for n, r in sorted(report.results.items()) if r.revision}}
    ctx.log(f"{label}: " + report.summary_text().replace("\n", "; "))
    if not report.ok:
        failed = [report.results[n] for n in report.by_outcome(FAILED)]
        lines = [f"{len(failed)} release(s) failed, {len(report.by_outcome(SKIPPED))} skipped, "
                 f"{len(report.by_outcome(DEPLOYED)) + len(report.by_outcome(UNCHANGED))} ready"]
        for result in failed:
            undo = (f" (rolled back to revision {result.rolled_back_to})" if result.rolled_back_to else
                    " (failed first install uninstalled)" if result.uninstalled else "")
            lines.append(f"{result.name} in {result.namespace}{undo}: {result.error}")
        for name in report.by_outcome(SKIPPED):
            lines.append(f"{name}: skipped, needs {', '.join(report.results[name].skipped_because)}")
        raise StepFailed("\n".join(lines),
                         remediation="fix the cause named above, then rerun with --resume: ready releases are "
                                     "left as they are and only the failed and skipped ones are deployed",
                         details={"failed_releases": [{"name": r.name, "namespace": r.namespace,
                                                       "reason": r.reason} for r in failed],
                                  "skipped_releases": report.by_outcome(SKIPPED), **outputs})
    return outputs


def _dry_run(ctx: StepContext, specs: list[ReleaseSpec], executor: Any) -> dict:
    plan: dict[str, str] = {}
    for spec in sorted(specs, key=lambda s: (s.wave, s.name)):
        action = executor.preview(spec)
        plan[spec.name] = action
        ctx.log(f"would {action} {spec.name} in {spec.namespace} (wave {spec.wave})" if action != "unchanged"
                else f"{spec.name} in {spec.namespace} is unchanged", task=spec.name)
    return {"dry_run": True, "actions": plan}


def _save_report(ctx: StepContext, label: str, report: DeployReport) -> None:
    from installer.engine.journal import atomic_write, mask_tree

    path = ctx.state_dir / REPORT_NAME
    try:
        existing = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        existing = {}
    existing[label] = mask_tree({"finished": time.time(), **report.to_dict()})
    atomic_write(path, json.dumps(existing, indent=2, sort_keys=True))


# --- deploy, monitoring, ci --------------------------------------------------------------------------
def deploy(ctx: StepContext) -> dict:
    """Every DIGIT release of the plan, in dependency order, with live readiness."""
    specs = release_specs(ctx, None, exclude=set(ADDON_MODULES.values()))
    return run_releases(ctx, specs, "deploy")


def monitoring(ctx: StepContext) -> dict:
    """kube-prometheus-stack, Grafana (generated admin secret, DIGIT dashboards) and, with tracing, Jaeger."""
    from installer.deploy.cluster import ensure_secret

    answers = ctx.answers
    if not answers.monitoring.enabled:
        return {"enabled": False}
    specs = [s for s in release_specs(ctx, {ADDON_MODULES["monitoring"]})
             if s.name != "jaeger" or answers.monitoring.tracing]
    secrets = [f"{addons.MONITORING_NAMESPACE}/{addons.GRAFANA_SECRET}"]
    if ctx.dry_run:
        ctx.log(f"would create or update Secret {secrets[0]}")
        return {**run_releases(ctx, specs, "monitoring"), "secrets": secrets}
    cluster = open_cluster(ctx)
    try:
        password = _resolve(ctx, answers.credentials.grafana_admin_password, "credentials.grafana_admin_password")
        ensure_secret(cluster.api, addons.MONITORING_NAMESPACE, addons.GRAFANA_SECRET,
                      {"admin-user": "admin", "admin-password": password})
        if answers.monitoring.tracing:
            es_password = _resolve(ctx, answers.credentials.elasticsearch_password,
                                   "credentials.elasticsearch_password")
            ensure_secret(cluster.api, addons.MONITORING_NAMESPACE, addons.JAEGER_ES_SECRET, {"password": es_password})
            secrets.append(f"{addons.MONITORING_NAMESPACE}/{addons.JAEGER_ES_SECRET}")
        outputs = run_releases(ctx, specs, "monitoring", cluster)
    finally:
        cluster.helm.close()
    return {**outputs, "secrets": secrets, "tracing": bool(answers.monitoring.tracing)}


def ci(ctx: StepContext) -> dict:
    """Jenkins with a generated admin secret, configuration as code and a DIGIT seed job."""
    from installer.deploy.cluster import ensure_secret

    answers = ctx.answers
    if not answers.ci.jenkins:
        return {"enabled": False}
    specs = release_specs(ctx, {ADDON_MODULES["ci"]})
    secret = f"{addons.JENKINS_NAMESPACE}/{addons.JENKINS_SECRET}"
    if ctx.dry_run:
        ctx.log(f"would create or update Secret {secret}")
        return {**run_releases(ctx, specs, "ci"), "secrets": [secret]}
    cluster = open_cluster(ctx)
    try:
        password = _resolve(ctx, answers.credentials.jenkins_admin_password, "credentials.jenkins_admin_password")
        ensure_secret(cluster.api, addons.JENKINS_NAMESPACE, addons.JENKINS_SECRET,
                      {"jenkins-admin-user": "admin", "jenkins-admin-password": password})
        outputs = run_releases(ctx, specs, "ci", cluster)
    finally:
        cluster.helm.close()
    return {**outputs, "secrets": [secret]}


def _resolve(ctx: StepContext, ref: Any, key: str) -> str:
    value = ctx.answers.secret(ref)
    if value is None:
        value = _credential(ctx, key)
    if not value:
        raise StepFailed(f"{key} has no value: it is generated by the configure step, which has not stored it",
                         remediation="rerun with --resume so configure runs first")
    return value


# --- verify and summary ------------------------------------------------------------------------------
def _deployed_releases(ctx: StepContext) -> Iterator[tuple[str, str]]:
    for step_id in ("deploy", "monitoring", "ci"):
        outputs = ctx.outputs.get(step_id) or {}
        for name in (outputs.get("deployed") or []) + (outputs.get("unchanged") or []):
            yield step_id, name


def verify(ctx: StepContext) -> dict:
    """Every release's workloads ready, the ingress has an address, core health endpoints answer."""
    from installer.deploy.verify import run_checks

    if ctx.dry_run:
        ctx.log("would check every release's workloads, the ingress address and the core health endpoints")
        return {"dry_run": True}
    cluster = open_cluster(ctx)
    try:
        namespaces = {r.name: r.namespace for r in _planned(ctx)}
        releases = sorted({name for _, name in _deployed_releases(ctx)})
        checks = run_checks(ctx, cluster, [(name, namespaces.get(name, "default")) for name in releases])
    finally:
        cluster.helm.close()
    for check in checks:
        if check["outcome"] != "pass":
            ctx.log(f"{check['id']}: {check['outcome']}: {check['message']}",
                    level="warning" if check["outcome"] == "fail" else "info")
    failed = [c for c in checks if c["outcome"] == "fail"]
    outputs = {"checks": checks, "passed": sum(c["outcome"] == "pass" for c in checks),
               "skipped": sum(c["outcome"] == "skipped" for c in checks), "failed": len(failed)}
    if failed:
        raise StepFailed("verification failed: " + "; ".join(f"{c['id']}: {c['message']}" for c in failed),
                         remediation="see the failed checks; fix and rerun with --resume", details=outputs)
    return outputs


def summary(ctx: StepContext) -> dict:
    """Where DIGIT, Grafana and Jenkins answer, where generated credentials live, and where the logs are."""
    from installer.deploy.verify import render_summary

    text, outputs = render_summary(ctx)
    for line in text.splitlines():
        ctx.log(line)
    if not ctx.dry_run:
        from installer.engine.journal import atomic_write

        atomic_write(ctx.state_dir / SUMMARY_NAME, redact.mask(text) + "\n", mode=0o644)
        outputs["summary_file"] = str(ctx.state_dir / SUMMARY_NAME)
    return outputs
