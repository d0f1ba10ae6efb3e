"""Deploying the plan's releases: the deploy, monitoring and ci steps and the executor run they share.

Each step deploys the plan's releases of its modules with the values as planned (the plan owns the
add-ons' values); monitoring and ci first create the admin Secrets their charts reference.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from collections.abc import Set
from typing import Any

from installer.answers import Answers
from installer import __version__, redact
from installer.deploy.cluster import connect_cluster, ensure_secret
from installer.deploy.model import CANCELLED, DEPLOYED, FAILED, SKIPPED, UNCHANGED, DeployReport, ReleaseSpec
from installer.deploy.outputs import FailedRelease, ReleasesFailure, ReleasesOutput
from installer.deploy.target import Cluster, helm_slots, open_cluster
from installer.engine import Cancelled, StepContext, StepFailed
from installer.files import atomic_write
from installer.plan import PlanError, ReleasePlan, addons, build_plan
from installer.plan.provisioned import kube_access
from installer.secretstore import KubeClusterCopy, SecretStore, SecretStoreError
from installer.secretstore import get as stored_secret

UNINSTALL_FAILED_ENV = "DIGIT_INSTALLER_UNINSTALL_FAILED_INSTALL"
POLL_ENV = "DIGIT_INSTALLER_READINESS_POLL"
REPORT_NAME = "deploy-report.json"
# Releases of these modules belong to the monitoring and ci steps, not to deploy.
ADDON_MODULES = {"monitoring": "monitoring", "ci": "ci"}


def planned_releases(ctx: StepContext[Answers]) -> list[ReleasePlan]:
    """The plan's releases, built as the configure step built them (same answers, same stored secrets)."""
    cluster = None
    kubeconfig, context = kube_access(ctx)
    if ctx.dry_run and kubeconfig is not None:
        # A dry run from a jump host without the local copy must predict with the values the cluster
        # keeps (read only), or every release would look changed. (No kubeconfig: a provisioned
        # target whose cluster does not exist yet.)
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


def release_specs(ctx: StepContext[Answers], modules: set[str] | None, exclude: Set[str] = frozenset()) -> list[ReleaseSpec]:
    """The plan's releases of the given modules (None: every module not in `exclude`), values as planned."""
    chosen = [r for r in planned_releases(ctx)
              if (modules is None and r.module not in exclude) or (modules is not None and r.module in modules)]
    names = {r.name for r in chosen}
    return [ReleaseSpec(
        name=r.name, namespace=r.namespace, chart=r.chart, values=r.values,
        # Needs outside this step's releases were made ready by an earlier step.
        needs=tuple(n for n in r.needs if n in names), wave=r.wave, timeout=r.timeout,
        chart_digest=r.chart_digest, values_digest=r.values_digest) for r in chosen]


class _Reporter:
    """Turns executor events into step progress, logs and per-release task results."""

    def __init__(self, ctx: StepContext[Answers], total: int) -> None:
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


def run_releases(ctx: StepContext[Answers], specs: list[ReleaseSpec], label: str,
                 cluster: Cluster | None = None) -> ReleasesOutput:
    """Deploy `specs` through the executor; raise StepFailed naming every failed release."""
    from installer.deploy.executor import Executor, PlanError
    from installer.deploy.helmops import EngineOperations
    from installer.deploy.informers import ObjectCache
    from installer.deploy.readiness import ReadinessWatcher

    if not specs:
        ctx.log(f"no {label} releases in the plan")
        return ReleasesOutput()
    if ctx.dry_run and cluster is None and kube_access(ctx)[0] is None:
        # No cluster yet (a dry run before provisioning): every release would be installed.
        for spec in sorted(specs, key=lambda s: (s.wave, s.name)):
            ctx.log(f"would install {spec.name} in {spec.namespace} (wave {spec.wave})", task=spec.name)
        return ReleasesOutput(dry_run=True, actions={spec.name: "install" for spec in specs})
    own = cluster is None
    cluster = cluster or open_cluster(ctx)
    cache = ObjectCache(cluster.api)  # one watch per kind and namespace, shared by every waiting release
    try:
        operations = EngineOperations(cluster.helm)
        watcher = ReadinessWatcher(cluster.api, poll_interval=float(os.environ.get(POLL_ENV, "0.5")), cache=cache)
        executor = Executor(operations, watcher, installer_version=__version__,
                            concurrency=helm_slots(),
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
        cache.close()
        if own:
            cluster.helm.close()
    _save_report(ctx, label, report)
    if ctx.cancelled.is_set():
        raise Cancelled(f"{label} cancelled")
    outputs = ReleasesOutput(
        releases=len(specs), seconds=round(report.seconds, 3), deployed=report.by_outcome(DEPLOYED),
        unchanged=report.by_outcome(UNCHANGED), failed=report.by_outcome(FAILED), skipped=report.by_outcome(SKIPPED),
        cancelled=report.by_outcome(CANCELLED),
        revisions={n: r.revision for n, r in sorted(report.results.items()) if r.revision})
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
                         details=ReleasesFailure([FailedRelease(r.name, r.namespace, r.reason) for r in failed],
                                                 report.by_outcome(SKIPPED), outputs))
    return outputs


def _dry_run(ctx: StepContext[Answers], specs: list[ReleaseSpec], executor: Any) -> ReleasesOutput:
    plan: dict[str, str] = {}
    for spec in sorted(specs, key=lambda s: (s.wave, s.name)):
        action = executor.preview(spec)
        plan[spec.name] = action
        ctx.log(f"would {action} {spec.name} in {spec.namespace} (wave {spec.wave})" if action != "unchanged"
                else f"{spec.name} in {spec.namespace} is unchanged", task=spec.name)
    return ReleasesOutput(dry_run=True, actions=plan)


def _save_report(ctx: StepContext[Answers], label: str, report: DeployReport) -> None:
    path = ctx.state_dir / REPORT_NAME
    try:
        existing = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        existing = {}
    existing[label] = redact.mask_tree({"finished": time.time(), "profile": ctx.answers.release.version,
                                        **report.to_dict()})
    atomic_write(path, json.dumps(existing, indent=2, sort_keys=True))


# the reports whose releases are DIGIT's own: the profile they deployed is the install's
_PROFILE_REPORTS = ("deploy", "upgrade")


def deployed_profile(state_dir: Path) -> dict[str, Any] | None:
    """The release profile the newest DIGIT deploy or upgrade of this state directory applied, with when,
    by which step, and the releases that failed: `status` says what runs now, which the answers file cannot
    (it names what the operator asked for, perhaps not applied yet). None before the first deploy."""
    try:
        reports = json.loads((state_dir / REPORT_NAME).read_text())
    except (OSError, ValueError):
        return None
    entries = [(label, report) for label, report in reports.items()
               if label in _PROFILE_REPORTS and isinstance(report, dict) and report.get("profile")]
    if not entries:
        return None
    label, report = max(entries, key=lambda entry: entry[1].get("finished") or 0)
    return {"profile": report["profile"], "by": label, "finished": report.get("finished"),
            # failed, cancelled, or skipped because a release they need failed: none of them runs the profile
            "failed": [name for outcome in ("failed", "skipped", "cancelled") for name in report.get(outcome) or []]}


# --- deploy, monitoring, ci --------------------------------------------------------------------------
def deploy(ctx: StepContext[Answers]) -> ReleasesOutput:
    """Every DIGIT release of the plan, in dependency order, with live readiness."""
    specs = release_specs(ctx, None, exclude=set(ADDON_MODULES.values()))
    return run_releases(ctx, specs, "deploy")


def monitoring(ctx: StepContext[Answers]) -> ReleasesOutput:
    """kube-prometheus-stack, Grafana (generated admin secret, DIGIT dashboards) and, with tracing, Jaeger."""
    answers = ctx.answers
    if not answers.monitoring.enabled:
        return ReleasesOutput(enabled=False)
    specs = [s for s in release_specs(ctx, {ADDON_MODULES["monitoring"]})
             if s.name != "jaeger" or answers.monitoring.tracing]
    secrets = [f"{addons.MONITORING_NAMESPACE}/{addons.GRAFANA_SECRET}"]
    if ctx.dry_run:
        ctx.log(f"would create or update Secret {secrets[0]}")
        return replace(run_releases(ctx, specs, "monitoring"), secrets=secrets)
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
    return replace(outputs, secrets=secrets, tracing=bool(answers.monitoring.tracing))


def ci(ctx: StepContext[Answers]) -> ReleasesOutput:
    """Jenkins with a generated admin secret, configuration as code and a DIGIT seed job."""
    answers = ctx.answers
    if not answers.ci.jenkins:
        return ReleasesOutput(enabled=False)
    specs = release_specs(ctx, {ADDON_MODULES["ci"]})
    secret = f"{addons.JENKINS_NAMESPACE}/{addons.JENKINS_SECRET}"
    if ctx.dry_run:
        ctx.log(f"would create or update Secret {secret}")
        return replace(run_releases(ctx, specs, "ci"), secrets=[secret])
    cluster = open_cluster(ctx)
    try:
        password = _resolve(ctx, answers.credentials.jenkins_admin_password, "credentials.jenkins_admin_password")
        ensure_secret(cluster.api, addons.JENKINS_NAMESPACE, addons.JENKINS_SECRET,
                      {"jenkins-admin-user": "admin", "jenkins-admin-password": password})
        outputs = run_releases(ctx, specs, "ci", cluster)
    finally:
        cluster.helm.close()
    return replace(outputs, secrets=[secret])


def _resolve(ctx: StepContext[Answers], ref: Any, key: str) -> str:
    value: str | None = ctx.answers.secret(ref)
    if value is None:
        value = stored_secret(ctx, key)  # generated by the configure step
    if not value:
        raise StepFailed(f"{key} has no value: it is generated by the configure step, which has not stored it",
                         remediation="rerun with --resume so configure runs first")
    return value
