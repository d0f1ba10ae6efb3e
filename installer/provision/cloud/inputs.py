"""What a stack is given: its variables from the answers, and the cloud's credentials, all through the environment.

Terraform reads `TF_VAR_<name>` for every variable and each provider reads its own credentials
variables (AWS_*, ARM_*, GOOGLE_*, OS_*), so nothing secret is ever on Terraform's command line or
in a variable file. Secrets are registered with the redactor as they are resolved.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer import redact
from installer.provision.cloud.contract import variables_for
from installer.provision.cloud.hostkeys import HostKey, HostKeyStore, stack_variable, vm_names

DB_PASSWORD_KEY = "database.password"

# Worker types per cloud, cheapest first: (type, vCPU, memory GB). The first that meets the sizing
# profile's worker figures is chosen; target.terraform.instance_type overrides.
INSTANCE_TYPES: dict[str, list[tuple[str, int, int]]] = {
    "aws": [("m5a.large", 2, 8), ("m5a.xlarge", 4, 16), ("r5a.xlarge", 4, 32), ("m5a.2xlarge", 8, 32),
            ("r5a.2xlarge", 8, 64), ("m5a.4xlarge", 16, 64)],
    "azure": [("Standard_E2s_v3", 2, 16), ("Standard_D4s_v3", 4, 16), ("Standard_E4s_v3", 4, 32),
              ("Standard_D8s_v3", 8, 32), ("Standard_E8s_v3", 8, 64), ("Standard_D16s_v3", 16, 64)],
    "gcp": [("n2d-highmem-2", 2, 16), ("n2d-standard-4", 4, 16), ("n2d-highmem-4", 4, 32),
            ("n2d-standard-8", 8, 32), ("n2d-highmem-8", 8, 64), ("n2d-standard-16", 16, 64)],
    "openstack": [("m1.large", 4, 8), ("m1.xlarge", 8, 16), ("m1.2xlarge", 16, 32)],
}
DATABASE_CLASSES: dict[str, list[tuple[str, int, int]]] = {
    "aws": [("db.t4g.medium", 2, 4), ("db.m6g.large", 2, 8), ("db.m6g.xlarge", 4, 16), ("db.m6g.2xlarge", 8, 32)],
    "azure": [("B_Standard_B2ms", 2, 8), ("GP_Standard_D4s_v3", 4, 16), ("GP_Standard_D8s_v3", 8, 32)],
    "gcp": [("db-custom-2-8192", 2, 8), ("db-custom-4-16384", 4, 16), ("db-custom-8-32768", 8, 32)],
    "openstack": [("none", 0, 0)],
}


class InputError(Exception):
    pass


@dataclass
class StackInputs:
    variables: dict[str, Any]
    credentials: dict[str, str] = field(default_factory=dict, repr=False)

    def environment(self) -> dict[str, str]:
        """TF_VAR_* (JSON for anything but strings, which Terraform reads as HCL) plus the credentials."""
        env = {}
        for name, value in self.variables.items():
            if value is None:
                continue
            env[f"TF_VAR_{name}"] = value if isinstance(value, str) else json.dumps(value)
        env.update(self.credentials)
        return env


def pick(table: list[tuple[str, int, int]], vcpu: int, memory_gb: int) -> str:
    for name, cpus, memory in table:
        if cpus >= vcpu and memory >= memory_gb:
            return name
    return table[-1][0]


@dataclass(frozen=True)
class CloudMachines:
    """What a sizing profile becomes on one cloud: the workers' count and type, the managed database's class."""
    workers: int
    worker_type: str
    worker_vcpu: int
    worker_memory_gb: int
    database_class: str | None
    chosen: bool  # the worker type is taken from the answers (instance_type or flavor), not from the profile

    def describe(self, kind: str) -> str:
        how = "as the answers name it" if self.chosen else f"for {self.worker_vcpu} vCPU / {self.worker_memory_gb} GB"
        text = f"On {kind}: {self.workers} × {self.worker_type} workers ({how})"
        if self.database_class and self.database_class != "none":
            text += f"; managed database {self.database_class}"
        return text


def cloud_machines(kind: str, profile: Any, overrides: Any, instance_type: str | None = None,
                   managed_database: bool = True) -> CloudMachines:
    """The profile's worker and database figures mapped to the cloud's instance types (cheapest that fits)."""
    worker = profile.node("worker")
    vcpu = (overrides.worker_vcpu if overrides else None) or (worker.vcpu if worker else 4)
    memory = (overrides.worker_memory_gb if overrides else None) or (worker.memory_gb if worker else 16)
    count = (overrides.workers if overrides else None) or (worker.count if worker else 3)
    db_node = profile.node("database")
    database = pick(DATABASE_CLASSES[kind], db_node.vcpu if db_node else 2,
                    db_node.memory_gb if db_node else 8) if managed_database else None
    return CloudMachines(int(count), instance_type or pick(INSTANCE_TYPES[kind], vcpu, memory), int(vcpu),
                         int(memory), database, chosen=bool(instance_type))


def _secret(answers: Any, ref: Any, what: str) -> str | None:
    try:
        value: str | None = answers.secret(ref)
    except Exception as exc:  # SecretUnavailable: name the reference, never a value
        raise InputError(f"{what}: {redact.mask(str(exc))}") from None
    redact.register(value)
    return value


def database_password(answers: Any, state_dir: Path, persist: bool) -> str | None:
    """The managed database's master password: the answers' reference, else generated once and kept."""
    db = answers.database
    if db.mode != "managed":
        return None
    value = _secret(answers, db.password, "database.password")
    if value:
        return value
    from installer.secretstore import SecretStore

    values, _ = SecretStore(Path(state_dir), persist=persist).ensure([DB_PASSWORD_KEY])
    redact.register(values[DB_PASSWORD_KEY])
    return values[DB_PASSWORD_KEY]


def stack_inputs(answers: Any, profile: Any, state_dir: Path, persist: bool = True) -> StackInputs:
    target = answers.target
    kind = target.kind
    overrides = answers.sizing.overrides
    worker = profile.node("worker")
    db = answers.database
    machines = cloud_machines(kind, profile, overrides,
                              target.terraform.instance_type or getattr(target, "flavor", None))
    volumes = {}
    for volume_kind, spec in profile.volumes.items():
        size = getattr(overrides, f"{volume_kind}_volume_gb", None) or spec.size_gb
        for index in range(spec.count):
            volumes[f"{volume_kind.replace('_', '-')}-{index}"] = int(size)
    postgres = profile.volumes.get("postgres")
    managed = db.mode == "managed"
    variables: dict[str, Any] = {
        "name": answers.name,
        "region": getattr(target, "region", None) or getattr(target, "location", None),
        "kubernetes_version": getattr(target, "kubernetes_version", None) or "1.34",
        "node_count": machines.workers,
        "node_instance_type": machines.worker_type,
        "node_disk_gb": int(overrides.worker_disk_gb or (worker.disk_gb if worker else 100)),
        "create_database": managed,
        "db_name": db.name,
        "db_username": db.username,
        "db_password": database_password(answers, state_dir, persist) or "",
        "db_version": getattr(db, "version", None) or "15",
        "db_instance_class": getattr(db, "instance_class", None) or machines.database_class,
        "db_storage_gb": int(overrides.postgres_volume_gb or (postgres.size_gb if postgres else 100)),
        "filestore_bucket": f"{answers.name}-filestore",
        "volumes": volumes,
    }
    if kind == "gcp":
        variables["project"] = target.project
    if kind == "openstack":
        control = profile.node("control-plane")
        variables.update({
            "image": target.image,
            "control_plane_count": int(overrides.control_planes or (control.count if control else 1)),
            "control_plane_flavor": target.control_plane_flavor or pick(INSTANCE_TYPES[kind], 2, 4),
            "external_network": target.external_network or "",
            "network_cidr": target.network_cidr,
            "load_balancer": bool(target.load_balancer),
            "ssh_public_key": target.ssh_public_key or "",
            "host_keys": stack_variable(vm_host_keys(
                answers, state_dir, variables["node_count"],
                int(overrides.control_planes or (control.count if control else 1)), persist)),
        })
    assert set(variables) == set(variables_for(kind)), "the contract and the inputs disagree"
    variables.update(target.terraform.variables)
    return StackInputs(variables, credentials(answers))


def vm_host_keys(answers: Any, state_dir: Path, workers: int, control_planes: int,
                 persist: bool = True) -> dict[str, HostKey]:
    """The host key pair of every VM the openstack stack makes (made once, kept 0600 in the state directory)."""
    try:
        return HostKeyStore(state_dir, persist).ensure(vm_names(answers.name, control_planes, workers))
    except ValueError as exc:
        raise InputError(str(exc)) from None


def credentials(answers: Any) -> dict[str, str]:
    """The provider's own environment variables for the target's credentials (values registered as secrets)."""
    target = answers.target
    kind = target.kind
    env: dict[str, str] = {}
    if kind == "aws":
        creds = target.credentials
        env.update({"AWS_REGION": target.region, "AWS_DEFAULT_REGION": target.region})
        if creds.access_key_id is not None:
            env["AWS_ACCESS_KEY_ID"] = _secret(answers, creds.access_key_id, "target.credentials.access_key_id") or ""
            env["AWS_SECRET_ACCESS_KEY"] = _secret(answers, creds.secret_access_key,
                                                   "target.credentials.secret_access_key") or ""
        if creds.profile:
            env["AWS_PROFILE"] = creds.profile
            real_home = Path(os.path.expanduser("~"))
            env.setdefault("AWS_SHARED_CREDENTIALS_FILE", os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
                           or str(real_home / ".aws" / "credentials"))
            env.setdefault("AWS_CONFIG_FILE", os.environ.get("AWS_CONFIG_FILE") or str(real_home / ".aws" / "config"))
    elif kind == "azure":
        env.update({"ARM_SUBSCRIPTION_ID": target.subscription_id, "ARM_TENANT_ID": target.tenant_id,
                    "ARM_CLIENT_ID": target.client_id,
                    "ARM_CLIENT_SECRET": _secret(answers, target.client_secret, "target.client_secret") or ""})
    elif kind == "gcp":
        env.update({"GOOGLE_CREDENTIALS": _secret(answers, target.credentials, "target.credentials") or "",
                    "GOOGLE_PROJECT": target.project, "GOOGLE_REGION": target.region})
    elif kind == "openstack":
        env.update({"OS_AUTH_URL": target.auth_url, "OS_REGION_NAME": target.region,
                    "OS_PROJECT_NAME": target.project, "OS_USERNAME": target.username,
                    "OS_PASSWORD": _secret(answers, target.password, "target.password") or "",
                    "OS_USER_DOMAIN_NAME": target.user_domain, "OS_PROJECT_DOMAIN_NAME": target.project_domain})
    return env
