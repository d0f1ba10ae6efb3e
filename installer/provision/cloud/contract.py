"""The contract between the installer and a Terraform stack: the variables it fills, the outputs it reads.

Every stack (the installer's four under assets/terraform/ and a site's own) follows it:
- it takes the installer's variables (INSTALLER_VARIABLES plus the kind's own, KIND_VARIABLES); a
  variable without a default that the installer does not fill must be given in
  target.terraform.variables;
- it declares every output of OUTPUTS; those a stack cannot know are null (a stack of VMs knows no
  Kubernetes endpoint before RKE2 is installed on them; a stack without a managed database has no
  database host), and `kubeconfig` is declared sensitive;
- it declares no backend: the installer chooses it from target.terraform.backend.
The outputs are read with `terraform output -json` and validated into StackOutputs.
"""
from __future__ import annotations

from pathlib import Path
from collections.abc import Set
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from installer.provision.cloud.hcl import HclError, read_stack

INSTALLER_VARIABLES = (
    "name", "region", "kubernetes_version", "node_count", "node_instance_type", "node_disk_gb",
    "create_database", "db_name", "db_username", "db_password", "db_version", "db_instance_class",
    "db_storage_gb", "filestore_bucket", "volumes",
)
KIND_VARIABLES: dict[str, tuple[str, ...]] = {
    "aws": (),
    "azure": (),
    "gcp": ("project",),
    "openstack": ("image", "control_plane_count", "control_plane_flavor", "external_network", "network_cidr",
                  "load_balancer", "ssh_public_key", "host_keys"),
}
SENSITIVE_VARIABLES = ("db_password", "host_keys")
CLUSTER_OUTPUTS = ("kubernetes_endpoint", "kubernetes_ca_certificate", "kubeconfig")
DATABASE_OUTPUTS = ("database_host", "database_port", "database_name", "database_username")
OUTPUTS = (*CLUSTER_OUTPUTS, *DATABASE_OUTPUTS, "filestore_bucket", "volume_ids", "nodes")
SENSITIVE_OUTPUTS = ("kubeconfig",)


class ContractError(Exception):
    """The stack or its outputs break the contract; `problems` name each file, line and name."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def variables_for(kind: str) -> tuple[str, ...]:
    return INSTALLER_VARIABLES + KIND_VARIABLES.get(kind, ())


def check_stack(folder: Path, kind: str, extra_variables: Set[str] = frozenset()) -> list[str]:
    """Every way the stack in `folder` breaks the contract, as 'FILE:LINE: message' (empty when it keeps it)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [f"{folder}: the stack folder does not exist"]
    try:
        stack = read_stack(folder)
    except HclError as exc:
        return [str(exc)]
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{folder}: cannot read the stack: {exc}"]
    if not stack.files:
        return [f"{folder}: no .tf files"]
    problems = []
    where = f"{folder}"
    for name in OUTPUTS:
        if name not in stack.outputs:
            problems.append(f"{where}: output {name!r} is not declared (every stack declares all of "
                            f"{', '.join(OUTPUTS)}; null where it cannot know)")
    for name in SENSITIVE_OUTPUTS:
        block = stack.outputs.get(name)
        if block is not None and not block.flag("sensitive"):
            problems.append(f"{block.path}:{block.line}: output {name!r} must be declared sensitive = true")
    for name in SENSITIVE_VARIABLES:
        block = stack.variables.get(name)
        if block is not None and not block.flag("sensitive"):
            problems.append(f"{block.path}:{block.line}: variable {name!r} must be declared sensitive = true")
    supplied = set(variables_for(kind)) | set(extra_variables)
    for name, block in stack.variables.items():
        if "default" not in block.attributes and name not in supplied:
            problems.append(f"{block.path}:{block.line}: variable {name!r} has no default and the installer does not "
                            "fill it: give it in target.terraform.variables")
    for name in extra_variables:
        if name not in stack.variables:
            problems.append(f"{where}: target.terraform.variables.{name}: the stack declares no such variable")
    for block in stack.backends:
        problems.append(f"{block.path}:{block.line}: the stack declares a {block.kind} block; the installer chooses "
                        "the backend (target.terraform.backend): remove it")
    return problems


# ---------------------------------------------------------------- the outputs, typed


def needed_outputs(*, needs_cluster: bool, needs_database: bool, needs_nodes: bool = False) -> tuple[str, ...]:
    """The outputs this install cannot do without (the others may be null)."""
    return ((("kubernetes_endpoint", "kubeconfig") if needs_cluster else ())
            + (DATABASE_OUTPUTS if needs_database else ()) + (("nodes",) if needs_nodes else ()))


class StackNode(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    address: str
    role: str = "worker"


class StackOutputs(BaseModel):
    """`terraform output -json`, validated. Sensitive values are already registered with the redactor."""
    model_config = ConfigDict(extra="ignore")

    kubernetes_endpoint: str | None = None
    kubernetes_ca_certificate: str | None = None
    kubeconfig: str | None = Field(default=None, repr=False)
    database_host: str | None = None
    database_port: int | None = None
    database_name: str | None = None
    database_username: str | None = None
    filestore_bucket: str | None = None
    volume_ids: dict[str, str] = Field(default_factory=dict)
    nodes: list[StackNode] = Field(default_factory=list)

    @classmethod
    def from_terraform(cls, values: dict[str, Any], *, needs_cluster: bool, needs_database: bool,
                       needs_nodes: bool = False) -> StackOutputs:
        """Typed outputs; ContractError names every output that is missing, null where needed, or mistyped."""
        plain = {name: getattr(entry, "value", entry) for name, entry in values.items()}
        # Terraform leaves an output whose value is null out of `output -json`; that every output is declared is
        # checked on the stack itself (check_stack), so an absent output here is a null one.
        needed = needed_outputs(needs_cluster=needs_cluster, needs_database=needs_database, needs_nodes=needs_nodes)
        problems = [f"output {name!r} is missing" for name in needed if name not in plain]
        for key in ("volume_ids",):
            if plain.get(key) is None:
                plain[key] = {}
        if plain.get("nodes") is None:
            plain["nodes"] = []
        try:
            outputs = cls.model_validate(plain)
        except ValidationError as exc:
            for error in exc.errors():
                problems.append(f"output {'.'.join(str(p) for p in error['loc'])}: {error['msg']}")
            raise ContractError(problems) from None
        for name in needed:
            if name in plain and name != "nodes" and not getattr(outputs, name):
                problems.append(f"output {name!r} is null or empty, and this install needs it")
        if needs_nodes and not outputs.nodes:
            problems.append("output 'nodes' is empty, and this install needs the VMs it made")
        if problems:
            raise ContractError(problems)
        return outputs
