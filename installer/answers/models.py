"""The answers file, one pydantic model per section.

These models are the single contract: the headless loader, the Textual wizard
and the line-mode wizard all validate through them. Each field's `title` is the
question a wizard asks and its `description` the help shown for it, so both
faces are generated from this one description. Unknown keys are errors.
"""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from installer.answers.refs import SecretRef, generate_ref
from installer.answers.paths import ResolvedPath
from installer.profiles import canonical_release_name

ANSWERS_VERSION = 1
CLOUD_KINDS = ("aws", "azure", "gcp", "openstack")
TARGET_KINDS = ("sdc-vms", "existing-cluster", *CLOUD_KINDS)

_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}=?$")
# A profile is named, never pathed: the name is joined into profiles/<kind>/<name>.yaml.
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _profile_name(value: str) -> str:
    if not _PROFILE_NAME.match(value) or ".." in value:
        raise ValueError(f"{value!r} is not a profile name: use letters, digits, dots, dashes and underscores "
                         "(a name from profiles/, never a path)")
    return value


def _host(value: str) -> str:
    value = value.strip()
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if not _HOSTNAME.match(value):
        raise ValueError(f"{value!r} is neither an IP address nor a valid host name")
    if value.rsplit(".", 1)[-1].isdigit():
        # a name's last label is never all digits (RFC 1123 2.1): dotted numbers are an IPv4 address or a typo
        raise ValueError(f"{value!r} is not a valid IPv4 address (four numbers 0-255 separated by dots) "
                         "and, ending in a number, cannot be a host name")
    return value


_Ref = TypeVar("_Ref", bound=SecretRef | None)


def _no_generate(ref: _Ref, what: str) -> _Ref:
    if ref is not None and ref.generate:
        raise ValueError(f"{what} comes from outside the installer and cannot be generated; reference it with env or file")
    return ref


# ---------------------------------------------------------------- target


class Node(Section):
    """One machine the installer reaches over SSH."""

    name: str | None = Field(default=None, title="Node name", description="Short name used in reports (defaults to the host).")
    host: str = Field(title="Host or IP address", description="Address the jump host uses to reach this machine over SSH.")
    role: Literal["control-plane", "worker", "database", "load-balancer"] = Field(
        title="Role",
        description="control-plane runs the Kubernetes control plane (3 for HA), worker runs DIGIT's services, "
        "database is the PostgreSQL VM, load-balancer the HAProxy in front of the cluster.",
    )
    port: int | None = Field(default=None, ge=1, le=65535, title="SSH port", description="Overrides target.ssh.port for this node.")
    user: str | None = Field(default=None, title="SSH user", description="Overrides target.ssh.user for this node.")
    data_paths: list[str] = Field(
        default_factory=lambda: ["/var/lib"],
        title="Data paths",
        description="Directories whose free space preflight checks (container images and local volumes live there).",
    )

    _check_host = field_validator("host")(classmethod(lambda cls, v: _host(v)))

    @property
    def label(self) -> str:
        return self.name or self.host


class SSHAccess(Section):
    """How the installer logs in to the machines."""

    user: str = Field(title="SSH user", description="A user with passwordless sudo on every node.")
    port: int = Field(default=22, ge=1, le=65535, title="SSH port", description="Port sshd listens on.")
    private_key: SecretRef = Field(
        title="SSH private key",
        description="The private key that logs in as the SSH user: {file: path} or {env: NAME}.",
    )
    host_keys: dict[str, str] = Field(
        default_factory=dict,
        title="Pinned host keys",
        description="Host -> SHA256 fingerprint of its SSH host key. Unknown keys are refused in a headless run; "
        "pin them here or list them in known_hosts.",
    )
    known_hosts: ResolvedPath | None = Field(default=None, title="known_hosts file", description="An OpenSSH known_hosts file to trust.")
    connect_timeout: float = Field(default=10.0, gt=0, le=120, title="Connect timeout (s)",
                                   description="Seconds before an unreachable node is given up on.")

    @field_validator("private_key")
    @classmethod
    def _key_not_generated(cls, value: SecretRef) -> SecretRef:
        return _no_generate(value, "the SSH private key")

    @field_validator("host_keys")
    @classmethod
    def _fingerprints(cls, value: dict[str, str]) -> dict[str, str]:
        for host, fingerprint in value.items():
            if not _FINGERPRINT.match(str(fingerprint)):
                raise ValueError(f"host_keys.{host}: {fingerprint!r} is not a SHA256 fingerprint (ssh-keygen -lf prints SHA256:...)")
        return value


def _nodes_consistent(nodes: list[Node]) -> list[Node]:
    seen_names: set[str] = set()
    seen_hosts: set[tuple[str, int | None]] = set()
    named = []
    for given in nodes:
        node = given
        if node.name is None:
            node = node.model_copy(update={"name": node.host if node.port is None else f"{node.host}:{node.port}"})
        if node.name in seen_names:
            raise ValueError(f"node name {node.name!r} is used twice")
        if (node.host, node.port) in seen_hosts:
            raise ValueError(f"host {node.host} (port {node.port or 'default'}) is listed twice")
        assert node.name is not None  # named just above
        seen_names.add(node.name)
        seen_hosts.add((node.host, node.port))
        named.append(node)
    return named


class Rke2(Section):
    """How Kubernetes (RKE2) is installed on the VMs, air-gapped, from artifacts the operator brings."""

    artifacts: ResolvedPath | None = Field(
        default=None,
        title="RKE2 artifact folder",
        description="Folder with rke2.linux-amd64.tar.gz, an rke2-images archive, sha256sum-amd64.txt and install.sh "
        "(RKE2's air-gap release files); checked against the sums before anything is copied.",
    )
    cni: Literal["canal", "calico", "cilium"] = Field(
        default="canal", title="Network plugin (CNI)", description="The same on every server; canal is RKE2's default.")
    cluster_cidr: str = Field(default="10.42.0.0/16", title="Pod network (CIDR)", description="Must not overlap the VMs' network.")
    service_cidr: str = Field(default="10.43.0.0/16", title="Service network (CIDR)", description="Must not overlap the VMs' network.")
    agent_batch: int = Field(
        default=10, ge=1, le=50, title="Workers joined at once",
        description="Workers join in batches of this size once every control-plane node is Ready.")

    @field_validator("cluster_cidr", "service_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_network(value.strip(), strict=True))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a network in CIDR form (e.g. 10.42.0.0/16): {exc}") from None


class SdcVmsTarget(Section):
    """Bare VMs in a state data centre; Kubernetes (RKE2) is installed over SSH."""

    kind: Literal["sdc-vms"] = Field(title="Target kind")
    nodes: list[Node] = Field(min_length=1, title="Nodes", description="Every VM the installer sets up.")
    ssh: SSHAccess = Field(title="SSH access")
    load_balancer: str | None = Field(
        default=None,
        title="Load balancer address",
        description="Address of the HAProxy/load balancer in front of ports 80, 443 and 6443, if any. It is also "
        "the address nodes register with (RKE2's fixed registration address); without it, the first control-plane node.",
    )
    rke2: Rke2 = Field(default_factory=Rke2, title="Kubernetes (RKE2)")

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, nodes: list[Node]) -> list[Node]:
        nodes = _nodes_consistent(nodes)
        if not any(node.role == "control-plane" for node in nodes):
            raise ValueError("at least one node needs role control-plane")
        return nodes

    @field_validator("load_balancer")
    @classmethod
    def _load_balancer(cls, value: str | None) -> str | None:
        return _host(value) if value is not None else None

    @property
    def registration_address(self) -> str:
        """Where joining nodes and the jump host reach the cluster: the load balancer, else the first server."""
        if self.load_balancer:
            return self.load_balancer
        return next(node.host for node in self.nodes if node.role == "control-plane")


class ExistingClusterTarget(Section):
    """A Kubernetes cluster that already runs; optionally its machines for host checks."""

    kind: Literal["existing-cluster"] = Field(title="Target kind")
    kubeconfig: ResolvedPath = Field(title="kubeconfig file", description="Path of the kubeconfig, relative to the answers file.")
    context: str | None = Field(default=None, title="Context", description="kubeconfig context to use (default: current-context).")
    storage_class: str | None = Field(default=None, title="StorageClass",
                                      description="StorageClass for DIGIT's volumes (default: the cluster's default).")
    nodes: list[Node] = Field(default_factory=list, title="Machines", description="The cluster's machines, so host checks can run on them.")
    ssh: SSHAccess | None = Field(default=None, title="SSH access", description="Needed when machines are listed.")
    take_over_install: str | None = Field(
        default=None, title="Take over install",
        description="The name of another install in this cluster whose namespaces and releases this one may "
        "take over. Without it, preflight and deploy refuse to touch another install's releases.")

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, nodes: list[Node]) -> list[Node]:
        return _nodes_consistent(nodes)

    @model_validator(mode="after")
    def _ssh_for_nodes(self) -> ExistingClusterTarget:
        if self.nodes and self.ssh is None:
            raise ValueError("machines are listed under nodes, so ssh access is needed too")
        return self


class TerraformBackend(Section):
    """Where Terraform keeps the state of a cloud install."""

    kind: Literal["local", "s3", "azurerm", "gcs", "swift"] = Field(
        default="local", title="State backend",
        description="local keeps the state in the state directory (mode 0600); s3, azurerm, gcs and swift "
        "keep it in the cloud with its own locking, so another jump host can continue an install.")
    config: dict[str, str] = Field(
        default_factory=dict, title="Backend settings",
        description="The backend's settings (e.g. bucket, key, region, dynamodb_table for s3). Never "
        "credentials: those come from the target's credentials, through the environment.")

    @model_validator(mode="after")
    def _local_has_no_config(self) -> TerraformBackend:
        if self.kind == "local" and self.config:
            raise ValueError("the local backend takes no settings (its state lives in the state directory)")
        for key in self.config:
            if any(word in key.lower() for word in ("secret", "password", "access_key", "token", "sas")):
                raise ValueError(f"config.{key}: credentials never go into backend settings; "
                                 "they come from the target's credentials")
        return self


TerraformValue = str | int | float | bool | list[Any] | dict[str, Any]


class TerraformSettings(Section):
    """How the cloud is provisioned: which stack, where providers and state come from."""

    stack: ResolvedPath | None = Field(
        default=None, title="Terraform stack folder",
        description="A site's own stack instead of the installer's (assets/terraform/<kind>); it must declare the "
        "installer's variables it needs and the shared outputs (validate checks).")
    backend: TerraformBackend = Field(default_factory=TerraformBackend, title="State backend")
    variables: dict[str, TerraformValue] = Field(
        default_factory=dict, title="Extra stack variables",
        description="Values for variables a site's stack declares beyond the installer's own (never secrets).")
    instance_type: str | None = Field(
        default=None, title="Worker instance type",
        description="Overrides the type chosen from the sizing profile (the sizing page shows that type), "
        "e.g. m5a.xlarge, Standard_E4s_v3.")
    parallelism: int = Field(default=10, ge=1, le=100, title="Parallel operations",
                             description="Terraform's -parallelism.")
    allow_destroy: list[str] = Field(
        default_factory=list, title="Resources that may be destroyed or replaced",
        description="Terraform addresses (e.g. aws_db_instance.main) a change may destroy or replace. A plan that "
        "destroys or replaces anything not named here stops before applying: data is never deleted unasked.")

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", name):
                raise ValueError(f"{name!r} is not a Terraform variable name")
        return value


class AwsCredentials(Section):
    profile: str | None = Field(default=None, title="AWS profile", description="A named profile from ~/.aws/credentials.")
    access_key_id: SecretRef | None = Field(default=None, title="Access key id")
    secret_access_key: SecretRef | None = Field(default=None, title="Secret access key")

    @model_validator(mode="after")
    def _pair(self) -> AwsCredentials:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("access_key_id and secret_access_key go together")
        if self.profile is None and self.access_key_id is None:
            raise ValueError("give either profile or access_key_id and secret_access_key")
        _no_generate(self.access_key_id, "an AWS access key")
        _no_generate(self.secret_access_key, "an AWS secret key")
        return self


class AwsTarget(Section):
    kind: Literal["aws"] = Field(title="Target kind")
    region: str = Field(title="Region", description="e.g. ap-south-1")
    credentials: AwsCredentials = Field(
        title="Credentials",
        description="Either an AWS profile, or an access key id together with its secret access key. They reach "
        "Terraform through its environment only.")
    kubernetes_version: str = Field(default="1.34", title="Kubernetes version")
    provider_mirror: ResolvedPath | None = Field(
        default=None, title="Terraform provider mirror",
        description="A filesystem mirror of the Terraform providers (`terraform providers mirror DIR`) for sites "
        "without registry access; an air-gap bundle carries it.")
    terraform: TerraformSettings = Field(default_factory=TerraformSettings, title="Terraform")


class AzureTarget(Section):
    kind: Literal["azure"] = Field(title="Target kind")
    location: str = Field(title="Location", description="e.g. centralindia")
    subscription_id: str = Field(title="Subscription id")
    tenant_id: str = Field(title="Tenant id")
    client_id: str = Field(title="Service principal client id")
    client_secret: SecretRef = Field(title="Service principal secret")
    kubernetes_version: str = Field(default="1.34", title="Kubernetes version")
    provider_mirror: ResolvedPath | None = Field(
        default=None, title="Terraform provider mirror",
        description="A filesystem mirror of the Terraform providers (`terraform providers mirror DIR`) for sites "
        "without registry access; an air-gap bundle carries it.")
    terraform: TerraformSettings = Field(default_factory=TerraformSettings, title="Terraform")

    _secret = field_validator("client_secret")(classmethod(lambda cls, v: _no_generate(v, "the Azure client secret")))


class GcpTarget(Section):
    kind: Literal["gcp"] = Field(title="Target kind")
    project: str = Field(title="Project id")
    region: str = Field(title="Region", description="e.g. asia-south1")
    credentials: SecretRef = Field(title="Service account key", description="{file: key.json} or {env: NAME}.")
    kubernetes_version: str = Field(default="1.34", title="Kubernetes version")
    provider_mirror: ResolvedPath | None = Field(
        default=None, title="Terraform provider mirror",
        description="A filesystem mirror of the Terraform providers (`terraform providers mirror DIR`) for sites "
        "without registry access; an air-gap bundle carries it.")
    terraform: TerraformSettings = Field(default_factory=TerraformSettings, title="Terraform")

    _secret = field_validator("credentials")(classmethod(lambda cls, v: _no_generate(v, "the GCP service account key")))


class OpenStackTarget(Section):
    """OpenStack clouds, including the national cloud (NIC)."""

    kind: Literal["openstack"] = Field(title="Target kind")
    auth_url: str = Field(title="Keystone URL")
    region: str = Field(title="Region")
    project: str = Field(title="Project")
    username: str = Field(title="User name")
    password: SecretRef = Field(title="Password")
    user_domain: str = Field(default="Default", title="User domain")
    provider_mirror: ResolvedPath | None = Field(
        default=None, title="Terraform provider mirror",
        description="A filesystem mirror of the Terraform providers (`terraform providers mirror DIR`) for sites "
        "without registry access; an air-gap bundle carries it.")
    project_domain: str = Field(default="Default", title="Project domain")
    image: str = Field(default="ubuntu-22.04", title="VM image", description="Glance image name for every VM.")
    flavor: str | None = Field(default=None, title="Worker flavor", description="Default from the sizing profile.")
    control_plane_flavor: str | None = Field(default=None, title="Control-plane flavor")
    external_network: str | None = Field(default=None, title="External network", description="For floating IPs; none on a private cloud.")
    network_cidr: str = Field(default="10.30.0.0/24", title="VM network (CIDR)")
    load_balancer: bool = Field(default=False, title="Create a load balancer", description="Octavia in front of 80, 443 and 6443.")
    ssh: SSHAccess | None = Field(default=None, title="SSH access", description="How Kubernetes is installed on the VMs once they exist.")
    ssh_public_key: str | None = Field(default=None, title="SSH public key", description="Put on every VM (the key pair's public half).")
    rke2: Rke2 = Field(default_factory=Rke2, title="Kubernetes (RKE2)")
    terraform: TerraformSettings = Field(default_factory=TerraformSettings, title="Terraform")

    _secret = field_validator("password")(classmethod(lambda cls, v: _no_generate(v, "the OpenStack password")))


Target = Annotated[
    SdcVmsTarget | ExistingClusterTarget | AwsTarget | AzureTarget | GcpTarget | OpenStackTarget,
    Field(discriminator="kind"),
]

# ---------------------------------------------------------------- sizing


class SizingOverrides(Section):
    """Changes to the sizing profile; values below the profile need allow_undersized."""

    workers: int | None = Field(default=None, ge=1, le=200, title="Worker count")
    worker_vcpu: int | None = Field(default=None, ge=1, title="vCPU per worker")
    worker_memory_gb: int | None = Field(default=None, ge=1, title="RAM per worker (GB)")
    worker_disk_gb: int | None = Field(default=None, ge=1, title="Disk per worker (GB)")
    control_planes: int | None = Field(default=None, ge=1, le=7, title="Control-plane count")
    kafka_volume_gb: int | None = Field(default=None, ge=1, title="Kafka volume size (GB)")
    zookeeper_volume_gb: int | None = Field(default=None, ge=1, title="ZooKeeper volume size (GB)")
    es_data_volume_gb: int | None = Field(default=None, ge=1, title="Elasticsearch data volume size (GB)")
    es_master_volume_gb: int | None = Field(default=None, ge=1, title="Elasticsearch master volume size (GB)")
    postgres_volume_gb: int | None = Field(default=None, ge=1, title="PostgreSQL volume size (GB)")
    filestore_volume_gb: int | None = Field(default=None, ge=1, title="Filestore volume size (GB)")
    replicas: int | None = Field(default=None, ge=1, le=20, title="Replicas per service")


class Sizing(Section):
    profile: str = Field(
        title="Sizing profile",
        description="quickstart (one VM), dev/uat/prod (managed clusters), sdc-dev/sdc-prod (state data centre VMs); "
        "see profiles/sizing/.",
    )
    overrides: SizingOverrides = Field(default_factory=SizingOverrides, title="Overrides")
    allow_undersized: bool = Field(
        default=False,
        title="Allow undersized",
        description="Accept overrides below the profile's figures (DIGIT may then run out of memory).",
    )

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str) -> str:
        return _profile_name(value)


# ---------------------------------------------------------------- domain


class LetsEncryptTls(Section):
    mode: Literal["letsencrypt"] = Field(title="TLS mode")
    email: str = Field(title="Contact email", description="Let's Encrypt sends expiry notices here. Needs internet access.")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value


class ProvidedTls(Section):
    mode: Literal["provided"] = Field(title="TLS mode")
    cert: ResolvedPath = Field(title="Certificate file", description="PEM certificate (chain) for the FQDN, e.g. from the SDC or NIC.")
    key: SecretRef = Field(title="Private key", description="The certificate's private key: {file: path} or {env: NAME}.")

    _secret = field_validator("key")(classmethod(lambda cls, v: _no_generate(v, "the TLS private key")))


class SelfSignedTls(Section):
    mode: Literal["self-signed"] = Field(title="TLS mode")


Tls = Annotated[LetsEncryptTls | ProvidedTls | SelfSignedTls, Field(discriminator="mode")]


class Domain(Section):
    fqdn: str = Field(
        title="Domain (FQDN)",
        description="The name citizens and employees use, e.g. uat.digit.example.gov.in; it must resolve to the "
        "load balancer or ingress.",
    )
    tls: Tls = Field(title="TLS", description="letsencrypt (needs internet), provided (certificate from the state/NIC), "
                                             "self-signed (testing).")

    @field_validator("fqdn")
    @classmethod
    def _fqdn(cls, value: str) -> str:
        value = value.strip().rstrip(".").lower()
        if "." not in value or not _HOSTNAME.match(value):
            raise ValueError(f"{value!r} is not a fully qualified domain name")
        return value


# ---------------------------------------------------------------- database


class ExternalDatabase(Section):
    mode: Literal["external"] = Field(title="Database mode")
    host: str = Field(title="Host", description="PostgreSQL server reachable from the cluster.")
    port: int = Field(default=5432, ge=1, le=65535, title="Port")
    name: str = Field(default="egov", title="Database name")
    username: str = Field(title="User", description="DIGIT's services connect as this user.")
    password: SecretRef = Field(title="Password")
    flyway_username: str | None = Field(default=None, title="Flyway user",
                                        description="Runs the schema migrations; defaults to the user (they must match).")
    flyway_password: SecretRef | None = Field(default=None, title="Flyway password", description="Defaults to the user's password.")
    admin_username: str | None = Field(default=None, title="Admin user",
                                       description="A user allowed to create the database and roles, if they do not exist yet.")
    admin_password: SecretRef | None = Field(default=None, title="Admin password")
    sslmode: Literal["disable", "prefer", "require", "verify-full"] = Field(default="prefer", title="SSL mode")

    _host = field_validator("host")(classmethod(lambda cls, v: _host(v)))

    @model_validator(mode="after")
    def _refs(self) -> ExternalDatabase:
        _no_generate(self.password, "an external database's password")
        _no_generate(self.flyway_password, "an external database's password")
        _no_generate(self.admin_password, "an external database's password")
        if (self.admin_username is None) != (self.admin_password is None):
            raise ValueError("admin_username and admin_password go together")
        return self


class ManagedDatabase(Section):
    """A cloud provider's PostgreSQL (RDS, Azure Flexible Server, Cloud SQL), created by provisioning."""

    mode: Literal["managed"] = Field(title="Database mode")
    name: str = Field(default="egov", title="Database name")
    username: str = Field(default="egov", title="User")
    password: SecretRef = Field(default_factory=generate_ref, title="Password")
    instance_class: str | None = Field(default=None, title="Instance class", description="Default from the sizing profile.")
    version: str = Field(default="15", title="PostgreSQL version")
    sslmode: Literal["disable", "prefer", "require", "verify-full"] = Field(
        default="require", title="SSL mode", description="How DIGIT and the installer reach the managed database.")


class InClusterDatabase(Section):
    """PostgreSQL as a StatefulSet in the backbone namespace (small installs)."""

    mode: Literal["in-cluster"] = Field(title="Database mode")
    name: str = Field(default="egov", title="Database name")
    username: str = Field(default="egov", title="User")
    password: SecretRef = Field(default_factory=generate_ref, title="Password")


Database = Annotated[ExternalDatabase | ManagedDatabase | InClusterDatabase, Field(discriminator="mode")]


def _tags(union: Any) -> frozenset[str]:
    """The discriminator values of a tagged union: the Literal of its tag field in every member."""
    members, info = get_args(union)
    return frozenset(value for member in get_args(members) for value in
                     get_args(member.model_fields[info.discriminator].annotation))


# Every tag value of the answers' tagged unions (target.kind, domain.tls.mode, database.mode): the loader and
# the wizard's questions both tell "which variant" from "a key" by these.
UNION_TAGS = _tags(Target) | _tags(Tls) | _tags(Database)

# ---------------------------------------------------------------- registry, release, repos


class Registry(Section):
    """An image mirror: every egovio/* and Bitnami image is pulled from here (air-gapped sites)."""

    mirror: str = Field(title="Mirror address", description="host[:port][/path], e.g. registry.sdc.local:5000")
    username: str | None = Field(default=None, title="User")
    password: SecretRef | None = Field(default=None, title="Password")
    insecure: bool = Field(default=False, title="Plain HTTP / untrusted TLS")
    ca_cert: ResolvedPath | None = Field(default=None, title="CA certificate", description="CA that signed the mirror's certificate.")

    @field_validator("mirror")
    @classmethod
    def _mirror(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if "://" in value:
            raise ValueError("give the mirror as host[:port][/path], without a scheme")
        host = value.split("/", 1)[0].rsplit(":", 1)[0]
        _host(host)
        return value

    @model_validator(mode="after")
    def _pair(self) -> Registry:
        if self.password is not None and self.username is None:
            raise ValueError("a registry password needs a username")
        _no_generate(self.password, "the registry password")
        return self


class Release(Section):
    version: str = Field(default="digit-2.9-lts", title="Release profile",
                         description="The DIGIT release: a profile's name from profiles/releases/.")
    charts: ResolvedPath = Field(  # type: ignore[assignment]  # never None after validation: taken from release.bundle or refused
        default=None,
        title="Chart source directory",
        description="DIGIT-DevOps deploy-as-code/charts; read offline. With release.bundle: the bundle's charts/ "
        "(leave this out).",
    )
    bundle: ResolvedPath | None = Field(
        default=None,
        title="Air-gap bundle",
        description="A bundle made by `install.sh bundle create`, verified and pushed to registry.mirror: charts "
        "come from it, and before Helm runs every image of the plan must be in the mirror with the bundle's digest.",
    )
    modules: list[str] = Field(
        default_factory=list,
        title="Modules",
        description="DIGIT modules to deploy; their dependencies are added automatically. Empty: the profile's default set.",
    )

    @field_validator("version")
    @classmethod
    def _version(cls, value: str, info: ValidationInfo) -> str:
        """A file written when this key held the bare version (2.9-lts) names profile digit-2.9-lts: read it
        as the full name, which is what a save then writes."""
        base_dir = (info.context or {}).get("base_dir")
        return canonical_release_name(_profile_name(value), Path(base_dir) if base_dir else None)

    @model_validator(mode="before")
    @classmethod
    def _charts_from_bundle(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        bundle = data.get("bundle")
        if isinstance(bundle, dict) and set(bundle) == {"file"}:
            bundle = bundle["file"]
        if data.get("charts") is None:
            if bundle is None:
                raise ValueError("give release.charts (DIGIT-DevOps' chart tree) or release.bundle (an air-gap bundle)")
            data = {**data, "charts": str(Path(str(bundle)) / "charts")}
        return data

    @model_validator(mode="after")
    def _charts_in_bundle(self) -> Release:
        if self.bundle is not None and self.charts != self.bundle / "charts":
            raise ValueError(f"release.charts ({self.charts}) and release.bundle disagree: with a bundle, "
                             "charts come from its charts/ folder; leave release.charts out")
        return self

    @field_validator("modules")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        duplicates = sorted({m for m in value if value.count(m) > 1})
        if duplicates:
            raise ValueError(f"listed twice: {', '.join(duplicates)}")
        return value


class GitRepo(Section):
    url: str = Field(title="Repository URL", description="SSH URL of the repo git-sync clones (air-gapped: the internal mirror).")
    branch: str = Field(title="Branch")

    @field_validator("url")
    @classmethod
    def _ssh_url(cls, value: str) -> str:
        """git-sync is given the deploy key and clones over SSH; an HTTP(S) URL would never use the key."""
        value = value.strip()
        if re.match(r"^(https?|git|file)://", value, re.IGNORECASE):
            raise ValueError(f"{value!r} is not an SSH URL: git-sync here clones over SSH with the deploy key "
                             "(config_repos.ssh_key); write git@HOST:ORG/REPO.git or ssh://git@HOST/ORG/REPO.git")
        return value


class ConfigRepos(Section):
    """DIGIT's services crash unless git-sync can clone these with a working deploy key."""

    mdms: GitRepo = Field(title="MDMS data repo", description="Master data (egov-mdms-data fork).")
    configs: GitRepo = Field(title="Configs repo", description="Persister/indexer configs (configs fork).")
    ssh_key: SecretRef = Field(title="Deploy key", description="Private deploy key with read access to both repos.")
    known_hosts: ResolvedPath | None = Field(default=None, title="known_hosts", description="Host key of the git server.")

    _secret = field_validator("ssh_key")(classmethod(lambda cls, v: _no_generate(v, "the git deploy key")))


class Credentials(Section):
    """Secrets DIGIT needs; by default the installer generates them once and reuses them."""

    enc_master_password: SecretRef = Field(default_factory=generate_ref, title="enc-service master password",
                                           description="egov-enc-service encrypts PII with it; losing it loses the data.")
    enc_master_salt: SecretRef = Field(default_factory=generate_ref, title="enc-service master salt")
    enc_master_iv: SecretRef = Field(default_factory=generate_ref, title="enc-service master IV")
    kafka_cluster_id: SecretRef = Field(default_factory=generate_ref, title="Kafka KRaft cluster id")
    elasticsearch_password: SecretRef = Field(default_factory=generate_ref, title="Elasticsearch password")
    grafana_admin_password: SecretRef = Field(default_factory=generate_ref, title="Grafana admin password")
    jenkins_admin_password: SecretRef = Field(default_factory=generate_ref, title="Jenkins admin password")
    digit_superuser_password: SecretRef = Field(
        default_factory=generate_ref,
        title="DIGIT superuser password",
        description="The first DIGIT administrator, created by egov-user's bootstrap job.",
    )


class Alerts(Section):
    email: str | None = Field(default=None, title="Alert email", description="Alertmanager sends alerts to this address.")
    webhook: str | None = Field(default=None, title="Alert webhook URL")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("webhook")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://\S+$", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class Monitoring(Section):
    enabled: bool = Field(default=True, title="Install monitoring",
                          description="Prometheus, Alertmanager and Grafana in namespace monitoring.")
    tracing: bool = Field(default=False, title="Install tracing", description="Jaeger, storing traces in Elasticsearch.")
    alerts: Alerts = Field(default_factory=Alerts, title="Alert receivers")


class Ci(Section):
    jenkins: bool = Field(default=False, title="Install Jenkins",
                          description="Jenkins with a seed job for DIGIT builds, in namespace jenkins.")


class Backup(Section):
    """Where an upgrade keeps the backup it takes before anything changes."""

    path: ResolvedPath | None = Field(
        default=None, title="Backup folder",
        description="Where `upgrade` writes its backups, one folder per run: a pg_dump of DIGIT's database and "
        "Helm's values and manifests of every release (they hold secrets: folders 0700, files 0600). Needs room "
        "for the dump; default: backups/ in the install's state directory.")


# ---------------------------------------------------------------- the whole file


class Answers(Section):
    """A complete description of one DIGIT installation."""

    version: Literal[1] = Field(title="Format version")
    name: str = Field(title="Installation name", description="Names the state directory and the cluster, e.g. punjab-uat.")
    target: Target = Field(title="Target")
    sizing: Sizing = Field(title="Sizing")
    domain: Domain = Field(title="Domain and TLS")
    database: Database = Field(title="Database")
    registry: Registry | None = Field(default=None, title="Registry mirror")
    release: Release = Field(title="Release")
    config_repos: ConfigRepos = Field(title="Config repos")
    credentials: Credentials = Field(default_factory=Credentials, title="Credentials")
    monitoring: Monitoring = Field(default_factory=Monitoring, title="Monitoring")
    ci: Ci = Field(default_factory=Ci, title="CI")
    backup: Backup = Field(default_factory=Backup, title="Backups")

    _source_path: Path | None = PrivateAttr(default=None)
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_a_number(cls, value: Any) -> Any:
        # YAML's true equals 1 for Literal[1]; a format version is a number, not a yes.
        if isinstance(value, bool):
            raise ValueError(f"version must be the number 1, not {str(value).lower()}")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use 1-40 lower-case letters, digits and dashes, starting with a letter")
        return value

    # -- convenience for the rest of the installer

    @property
    def source_path(self) -> Path | None:
        return self._source_path

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    def bind(self, source_path: Path | None, base_dir: Path | None = None) -> Answers:
        self._source_path = source_path
        self._base_dir = base_dir or (source_path.parent if source_path else Path.cwd())
        return self

    def secret(self, ref: SecretRef | None) -> str | None:
        """Resolve a reference relative to this file; None for generate or no reference."""
        if ref is None:
            return None
        return ref.resolve(self.base_dir)



SECTION_MODELS: dict[str, Any] = {
    "target": Target,
    "sizing": Sizing,
    "domain": Domain,
    "database": Database,
    "registry": Registry,
    "release": Release,
    "config_repos": ConfigRepos,
    "credentials": Credentials,
    "monitoring": Monitoring,
    "ci": Ci,
    "backup": Backup,
}
