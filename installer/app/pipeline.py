"""The install pipeline: which steps each target kind gets, in order, with what each reads.

Each target kind has its own function returning a literal list of steps, so the whole pipeline
of an install reads top to bottom here and every step body is a real function reference (go to
definition works; a missing step is an import error in the test suite, not a runtime surprise).

Importing the step modules is cheap: they load Kubernetes, Helm and SSH clients only when a step
runs, so `--help`, `validate` and `status` stay fast.
"""
from __future__ import annotations

from pathlib import Path
from collections.abc import Callable
from typing import Any

from installer.adapters.helm.digests import tree_digest
from installer.answers import Answers
from installer.app.checks import validate
from installer.bundle.step import images_in_mirror
from installer.deploy.database_step import database as _database
from installer.deploy.releases import ci as _ci, deploy as _deploy, monitoring as _monitoring
from installer.deploy.summary import summary as _summary
from installer.deploy.verify import verify as _verify
from installer.engine import Retry, Step, StepContext
from installer.plan.step import configure as _configure
from installer.preflight.step import preflight
from installer.provision.cloud.openstack import on_vms
from installer.provision.cloud.openstack import provision as provision_openstack
from installer.provision.cloud.step import provision as provision_cloud
from installer.provision.cloud.workspace import stack_digest
from installer.provision.step import provision
from installer.provision.storage import storage

ALL_SECTIONS = ("version", "name", "target", "sizing", "domain", "database", "registry", "release",
                "config_repos", "credentials", "monitoring", "ci")
CLOUD_KINDS = ("aws", "azure", "gcp", "openstack")


def charts_digest(answers: Answers) -> dict[str, str]:
    """Chart contents, so editing a chart reruns deploy even when the answers did not change."""
    charts = Path(answers.release.charts)
    if not charts.is_dir():
        return {"charts": "absent"}
    return {"charts": tree_digest(charts).split(":", 1)[1][:16]}


# --- the pieces every pipeline shares ---------------------------------------------------------------
def _checks(answers: Answers) -> list[Step]:
    """Checks that change nothing; an install from an air-gap bundle also finds every image in the mirror."""
    steps = [
        Step("validate", "Check answers and referenced secrets", validate, sections=ALL_SECTIONS,
             always_run=True, stall_after=30, timeout=120, retry=Retry(attempts=1)),
        Step("preflight", "Preflight checks of the target", preflight,
             needs=("validate",), sections=("target", "sizing", "domain", "database", "registry", "release"),
             stall_after=60, timeout=900, waiting_for="the target to answer preflight probes"),
    ]
    if answers.release.bundle is not None:
        steps.append(Step("images", "Every image of the plan in the mirror", images_in_mirror,
                          needs=("preflight",), sections=ALL_SECTIONS, always_run=True, stall_after=120,
                          timeout=900, waiting_for="the registry mirror to answer"))
    return steps


StepFunction = Callable[[StepContext], Any]


def _digit(answers: Answers, after: str,
           wrap: Callable[[StepFunction], StepFunction] = lambda step: step) -> list[Step]:
    """Database to summary: the same on every target once Kubernetes is there (`wrap` gives each step its view
    of the target: on openstack, the VMs as sdc-vms)."""
    database, configure, deploy, monitoring, ci, verify, summary = (
        wrap(s) for s in (_database, _configure, _deploy, _monitoring, _ci, _verify, _summary))
    steps = [
        Step("database", "Prepare the database", database,
             needs=(after,), sections=("database", "target.kind"), stall_after=120, timeout=900,
             waiting_for="the database to answer"),
        Step("configure", "Namespaces, secrets, values and storage", configure,
             needs=("database",), sections=("name", "target", "sizing", "domain", "database", "registry",
                                            "release", "config_repos", "credentials"),
             stall_after=120, timeout=900),
        Step("deploy", "Deploy DIGIT releases", deploy,
             needs=("configure",), sections=("release", "sizing", "registry", "domain"),
             extra_inputs=charts_digest, stall_after=300, timeout=3 * 3600,
             waiting_for="releases to become ready"),
    ]
    after_deploy = ["deploy"]
    if answers.monitoring.enabled:
        steps.append(Step("monitoring", "Monitoring and alerting", monitoring,
                          needs=("deploy",), sections=("monitoring", "domain"), stall_after=300, timeout=1800))
        after_deploy.append("monitoring")
    if answers.ci.jenkins:
        steps.append(Step("ci", "Jenkins CI", ci,
                          needs=("deploy",), sections=("ci", "domain", "config_repos"), stall_after=300,
                          timeout=1800))
        after_deploy.append("ci")
    steps += [
        Step("verify", "Verify the installation", verify,
             needs=tuple(after_deploy), sections=("domain", "release.modules", "monitoring.enabled", "ci.jenkins"),
             stall_after=120, timeout=900),
        Step("summary", "Summary and next steps", summary,
             needs=("verify",), sections=("name", "domain"), timeout=120, retry=Retry(attempts=1)),
    ]
    return steps


# --- one pipeline per target kind --------------------------------------------------------------------
def existing_cluster_pipeline(answers: Answers) -> list[Step]:
    """Kubernetes is there already: check it, then install DIGIT."""
    checks = _checks(answers)
    return checks + _digit(answers, after=checks[-1].id)


def sdc_vms_pipeline(answers: Answers) -> list[Step]:
    """State data centre VMs: install Kubernetes (RKE2, air-gapped) on the nodes and prepare their storage first."""
    checks = _checks(answers)
    return checks + [
        Step("provision", "Install Kubernetes (RKE2) on the nodes", provision,
             needs=(checks[-1].id,), sections=("name", "target", "registry"), stall_after=300, timeout=3 * 3600,
             retry=Retry(attempts=1), waiting_for="the nodes to install and join"),
        Step("storage", "Prepare the nodes' storage", storage,
             needs=("provision",), sections=("name", "target", "sizing", "release"),
             extra_inputs=charts_digest, stall_after=120, timeout=1800, retry=Retry(attempts=1)),
    ] + _digit(answers, after="storage")


def managed_cloud_pipeline(answers: Answers) -> list[Step]:
    """AWS, Azure, GCP: a Terraform stack makes the managed cluster, the managed database and the bucket.

    Volumes come from the cloud's CSI driver on demand, so there is no storage step.
    """
    checks = _checks(answers)
    return checks + [
        Step("provision", "Provision the cloud with Terraform", provision_cloud,
             needs=(checks[-1].id,), sections=("name", "target", "sizing", "database"),
             extra_inputs=stack_digest, stall_after=600, timeout=4 * 3600, retry=Retry(attempts=1),
             waiting_for="Terraform to create the cloud resources"),
    ] + _digit(answers, after="provision")


def openstack_pipeline(answers: Answers) -> list[Step]:
    """OpenStack (a state or national cloud): Terraform makes the VMs, volumes and (optionally) a load balancer,
    RKE2 is installed on the VMs over SSH (host keys made by the installer and pinned), then as on sdc-vms."""
    checks = _checks(answers)
    return checks + [
        Step("provision", "Provision VMs with Terraform, then Kubernetes (RKE2) on them", provision_openstack,
             needs=(checks[-1].id,), sections=("name", "target", "sizing", "database", "registry"),
             extra_inputs=stack_digest, stall_after=600, timeout=4 * 3600, retry=Retry(attempts=1),
             waiting_for="Terraform to create the VMs, then the nodes to install and join"),
        Step("storage", "Prepare the VMs' storage", on_vms(storage),
             needs=("provision",), sections=("name", "target", "sizing", "release"),
             extra_inputs=charts_digest, stall_after=120, timeout=1800, retry=Retry(attempts=1)),
    ] + _digit(answers, after="storage", wrap=on_vms)


PIPELINES: dict[str, Callable[[Answers], list[Step]]] = {
    "existing-cluster": existing_cluster_pipeline,
    "sdc-vms": sdc_vms_pipeline,
    **dict.fromkeys(("aws", "azure", "gcp"), managed_cloud_pipeline),
    "openstack": openstack_pipeline,
}


def kinds_not_built() -> frozenset[str]:
    """Target kinds whose pipeline stops at provisioning because it is not built yet (the wizard marks them): none."""
    return frozenset()


def build_steps(answers: Answers) -> list[Step]:
    """The ordered steps for this answers file's target kind and options."""
    return PIPELINES[answers.target.kind](answers)
