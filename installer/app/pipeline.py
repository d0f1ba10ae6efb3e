"""The install pipeline: which steps a target kind gets, what each needs, and which answers it reads.

Domain functions are imported when their step runs, so `--help`, `validate`
and `status` never load Kubernetes, Helm or SSH libraries. A step whose domain
function is not in this build fails with a message saying so; it never passes.
"""
from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Any, Callable

from installer.engine import Retry, Step, StepContext, StepFailed

ALL_SECTIONS = ("version", "name", "target", "sizing", "domain", "database", "registry", "release",
                "config_repos", "credentials", "monitoring", "ci")
PROVISIONED_KINDS = ("sdc-vms", "aws", "azure", "gcp", "openstack")


def secret_refs(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every SecretRef inside an answers tree, with its dotted key path."""
    from installer.answers import SecretRef

    found: list[tuple[str, Any]] = []
    if isinstance(value, SecretRef):
        return [(path, value)]
    if hasattr(type(value), "model_fields"):
        for name in type(value).model_fields:
            found += secret_refs(getattr(value, name, None), f"{path}.{name}" if path else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            found += secret_refs(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found += secret_refs(item, f"{path}[{index}]")
    return found


def register_secrets(answers: Any) -> list[tuple[str, str]]:
    """Resolve every env/file secret so the redactor knows it; returns (key path, problem) for those that fail."""
    problems = []
    for key_path, ref in secret_refs(answers):
        if getattr(ref, "generate", None):
            continue
        try:
            answers.secret(ref)
        except Exception as exc:  # SecretUnavailable and friends: reported by validate
            problems.append((key_path, str(exc)))
    return problems


def validate(ctx: StepContext) -> dict:
    """Every referenced secret readable and the chart source present, before anything is touched."""
    answers = ctx.answers
    refs = secret_refs(answers)
    ctx.progress(0, len(refs), "secrets")
    problems = []
    for index, (key_path, ref) in enumerate(refs, 1):
        if not getattr(ref, "generate", None):
            try:
                answers.secret(ref)
            except Exception as exc:
                problems.append(f"{key_path} ({ref.describe()}): {exc}")
        ctx.progress(index, len(refs), "secrets")
    charts = getattr(getattr(answers, "release", None), "charts", None)
    if charts is not None and not Path(charts).is_dir():
        problems.append(f"release.charts: {charts} is not a directory")
    if problems:
        raise StepFailed("; ".join(problems),
                         remediation="set the named environment variables / create the named files, then rerun")
    return {"install": answers.name, "target": answers.target.kind,
            "secrets_checked": sum(1 for _, ref in refs if not getattr(ref, "generate", None))}


def domain(module: str, function: str) -> Callable[[StepContext], dict]:
    """A step body that imports module.function when it runs."""

    def run(ctx: StepContext) -> dict:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
                raise StepFailed(f"step {ctx.step_id} is not built yet: {module}.{function} does not exist in this build",
                                 remediation="use a build of the installer that includes this step") from None
            raise
        fn = getattr(mod, function, None)
        if fn is None:
            raise StepFailed(f"step {ctx.step_id} is not built yet: {module} has no {function}()",
                             remediation="use a build of the installer that includes this step")
        result = fn(ctx)
        # Typed step outputs (dataclasses with to_dict) are journalled as their dict.
        return result.to_dict() if hasattr(result, "to_dict") else result

    run.__qualname__ = f"{module}.{function}"
    return run


def provision_not_built(ctx: StepContext) -> dict:
    kind = ctx.answers.target.kind
    raise StepFailed(f"provisioning for target kind {kind!r} is not built yet; nothing was changed",
                     remediation="install Kubernetes yourself and use target.kind: existing-cluster with its "
                                 "kubeconfig, then rerun")


def storage_not_built(ctx: StepContext) -> dict:
    raise StepFailed(f"storage setup for target kind {ctx.answers.target.kind!r} is not built yet",
                     remediation="use target.kind: existing-cluster with a default storage class")


def charts_digest(answers: Any) -> dict[str, str]:
    """Chart contents, so editing a chart reruns deploy even when the answers did not change."""
    charts = getattr(getattr(answers, "release", None), "charts", None)
    if charts is None or not Path(charts).is_dir():
        return {"charts": "absent"}
    digest = hashlib.sha256()
    root = Path(charts)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return {"charts": digest.hexdigest()[:16]}


def build_steps(answers: Any) -> list[Step]:
    """The ordered steps for this answers file's target kind and options."""
    kind = answers.target.kind
    steps = [
        Step("validate", "Check answers and referenced secrets", validate, sections=ALL_SECTIONS,
             always_run=True, stall_after=30, timeout=120, retry=Retry(attempts=1)),
        Step("preflight", "Preflight checks of the target", domain("installer.preflight.step", "preflight"),
             needs=("validate",), sections=("target", "sizing", "domain", "database", "registry", "release"),
             stall_after=60, timeout=900, waiting_for="the target to answer preflight probes"),
    ]
    before_database = ("preflight",)
    if kind == "sdc-vms":
        steps += [
            Step("provision", "Install Kubernetes (RKE2) on the nodes", domain("installer.provision.step", "provision"),
                 needs=("preflight",), sections=("name", "target", "registry"), stall_after=300, timeout=3 * 3600,
                 retry=Retry(attempts=1), waiting_for="the nodes to install and join"),
            Step("storage", "Prepare the nodes' storage", domain("installer.provision.storage", "storage"),
                 needs=("provision",), sections=("name", "target", "sizing", "release"),
                 extra_inputs=charts_digest, stall_after=120, timeout=1800, retry=Retry(attempts=1)),
        ]
        before_database = ("storage",)
    elif kind in PROVISIONED_KINDS:
        steps += [
            Step("provision", "Provision nodes and Kubernetes", provision_not_built, needs=("preflight",),
                 sections=("target", "sizing"), retry=Retry(attempts=1)),
            Step("storage", "Set up storage", storage_not_built, needs=("provision",),
                 sections=("target", "sizing"), retry=Retry(attempts=1)),
        ]
        before_database = ("storage",)
    steps += [
        Step("database", "Prepare the database", domain("installer.deploy.step", "database"),
             needs=before_database, sections=("database", "target.kind"), stall_after=120, timeout=900,
             waiting_for="the database to answer"),
        Step("configure", "Namespaces, secrets, values and storage", domain("installer.plan.step", "configure"),
             needs=("database",), sections=("name", "target", "sizing", "domain", "database", "registry",
                                            "release", "config_repos", "credentials"),
             stall_after=120, timeout=900),
        Step("deploy", "Deploy DIGIT releases", domain("installer.deploy.step", "deploy"),
             needs=("configure",), sections=("release", "sizing", "registry", "domain"),
             extra_inputs=charts_digest, stall_after=300, timeout=3 * 3600,
             waiting_for="releases to become ready"),
    ]
    after_deploy = ["deploy"]
    if answers.monitoring.enabled:
        steps.append(Step("monitoring", "Monitoring and alerting", domain("installer.deploy.step", "monitoring"),
                          needs=("deploy",), sections=("monitoring", "domain"), stall_after=300, timeout=1800))
        after_deploy.append("monitoring")
    if answers.ci.jenkins:
        steps.append(Step("ci", "Jenkins CI", domain("installer.deploy.step", "ci"),
                          needs=("deploy",), sections=("ci", "domain", "config_repos"), stall_after=300,
                          timeout=1800))
        after_deploy.append("ci")
    steps += [
        Step("verify", "Verify the installation", domain("installer.deploy.step", "verify"),
             needs=tuple(after_deploy), sections=("domain", "release.modules", "monitoring.enabled", "ci.jenkins"),
             stall_after=120, timeout=900),
        Step("summary", "Summary and next steps", domain("installer.deploy.step", "summary"),
             needs=("verify",), sections=("name", "domain"), timeout=120, retry=Retry(attempts=1)),
    ]
    return steps
