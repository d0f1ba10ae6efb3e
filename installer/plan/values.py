"""DIGIT-native env.yaml and env-secrets.yaml, and the values each release gets.

Every value comes from a typed field of the answers, the sizing profile, an earlier step's
recorded outputs or the secret store; nothing is produced by substituting `<placeholders>` in a
template. The key structure follows DIGIT's own LTS files (charts/environments/env.yaml and
env-secrets.yaml), so the two files also work with DIGIT's helmfiles.

A value that is only known after an earlier step (a managed database's endpoint before
provisioning) is a `Pending` value: the offline plan shows it and renders with a reserved
`.invalid` host name, and the configure step refuses to go on while any is left.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer.plan.provisioned import provisioned_bucket, provisioned_database
from installer.plan.graph import PlanError, ReleaseGraph

ES_HOST = "elasticsearch-data.backbone"
ES_MASTER_HOST = "elasticsearch-master.backbone"
KAFKA_BROKERS = "kafka-kraft-controller-headless.backbone:9092"
IN_CLUSTER_DB_HOST = "postgresql.backbone"
MINIO_URL = "http://minio.backbone:9000/"
STATIC_STORAGE_CLASS = "digit-static"
PULL_SECRET = "digit-registry"
MIN_SEARCHED_SECRET = 4
# Where release_extras puts secret values in a release's values.
EXTRA_SECRET_PATHS = [("global", "postgresql", "auth", "postgresPassword"), ("secret", "password"),
                      ("kraft", "clusterId")]
DIGIT_IMAGE_ORG = "egovio"
SUPERUSER_NAME = "admin"
# env-secrets.yaml entries DIGIT's configmaps chart turns into Secrets but the answers do not describe
# (SMS/mail gateways, payment gateways, maps, S3 keys, oauth2-proxy): present and empty, so the
# Secrets exist and an operator fills them later; the plan lists them as not configured.
NOT_CONFIGURED = {
    "egov-filestore": ("awskey", "awssecretkey"),
    "egov-notification-sms": ("username", "password"),
    "egov-notification-mail": ("mailsenderusername", "mailsenderpassword"),
    "egov-location": ("gmapskey",),
    "egov-pg-service": ("axis_merchant_accesscode", "axis_merchant_id", "axis_merchant_pwd",
                        "axis_merchant_secretkey", "axis_merchant_user", "payu_merchant_key", "payu_merchant_salt"),
    "oauth2-proxy": ("cookieSecret", "clientSecret", "clientID"),
}
GIT_SYNC_SECRET = "git-creds"


@dataclass(frozen=True)
class Pending:
    """A value an earlier step provides; `source` says which."""

    key: str
    source: str
    stand_in: str

    def __str__(self) -> str:
        return self.stand_in


@dataclass(frozen=True)
class DatabaseEndpoint:
    host: str | Pending
    port: int
    name: str
    username: str
    flyway_username: str
    sslmode: str


@dataclass(frozen=True)
class Sizing:
    replicas: int
    heap_scale: float
    memory_scale: float
    volumes: dict[str, tuple[int, int]]   # kind -> (count, size_gb)
    release_timeout_seconds: int


@dataclass
class Secrets:
    """Resolved secret values by answers key path (registered with the redactor by their resolvers)."""

    values: dict[str, str] = field(default_factory=dict)

    def need(self, key: str) -> str:
        value = self.values.get(key)
        if not value:
            raise PlanError(f"{key} has no value: neither the answers nor the secret store provide it", key=key)
        return value

    def optional(self, key: str) -> str | None:
        return self.values.get(key) or None


def effective_sizing(answers: Any, profile: Any) -> Sizing:
    overrides = answers.sizing.overrides
    volumes = {kind: (spec.count, spec.size_gb) for kind, spec in profile.volumes.items()}
    for kind in volumes:
        override = getattr(overrides, f"{kind}_volume_gb", None)
        if override:
            volumes[kind] = (volumes[kind][0], int(override))
    return Sizing(
        replicas=int(overrides.replicas or profile.services.replicas),
        heap_scale=float(profile.services.heap_scale),
        memory_scale=float(profile.services.memory_scale),
        volumes=volumes,
        release_timeout_seconds=int(profile.release_timeout_seconds),
    )


def database_endpoint(answers: Any, outputs: dict[str, Any]) -> DatabaseEndpoint:
    db = answers.database
    if db.mode == "external":
        return DatabaseEndpoint(db.host, db.port, db.name, db.username, db.flyway_username or db.username,
                                db.sslmode)
    if db.mode == "in-cluster":
        return DatabaseEndpoint(IN_CLUSTER_DB_HOST, 5432, db.name, db.username, db.username, "disable")
    provisioned = provisioned_database(outputs)
    if provisioned is None:
        return DatabaseEndpoint(Pending("database.host", "the provision step (managed database endpoint)",
                                        "managed-database.pending.invalid"), 5432, db.name, db.username,
                                db.username, db.sslmode)
    return DatabaseEndpoint(provisioned.host, provisioned.port, provisioned.name, provisioned.username,
                            provisioned.username, db.sslmode)


# --- sizing of DIGIT services -------------------------------------------------------------------

_HEAP = re.compile(r"-X(mx|ms)(\d+)([kmgKMG])")
_MEMORY = re.compile(r"^(\d+)(Mi|Gi|M|G)$")


def scale_heap(heap: str, factor: float) -> str:
    return _HEAP.sub(lambda m: f"-X{m.group(1)}{round(int(m.group(2)) * factor)}{m.group(3)}", heap)


def scale_memory(limit: str, factor: float) -> str:
    match = _MEMORY.match(str(limit).strip())
    if not match:
        return str(limit)
    return f"{round(int(match.group(1)) * factor)}{match.group(2)}"


@functools.lru_cache(maxsize=256)
def _read_chart_file(path: Path, mtime_ns: int) -> Any:
    from installer.yamlio import load_yaml

    try:
        return load_yaml(path.read_text(encoding="utf-8")) or {}
    except Exception as exc:
        raise PlanError(f"{path}: unreadable: {exc}", key="release.charts") from None


def _chart_file(chart: Path, name: str) -> dict[str, Any]:
    path = Path(chart) / name
    if not path.is_file():
        return {}
    data = _read_chart_file(path, path.stat().st_mtime_ns)
    return copy.deepcopy(data) if isinstance(data, dict) else {}


def _chart_defaults(chart: Path) -> dict[str, Any]:
    return _chart_file(chart, "values.yaml")


def _uses_common(chart: Path) -> bool:
    meta = _chart_file(chart, "Chart.yaml")
    return any(str(d.get("name")) == "common" for d in meta.get("dependencies") or [])


# --- images from the registry mirror ------------------------------------------------------------

def _has_host(reference: str) -> bool:
    first = reference.split("/", 1)[0]
    return "/" in reference and ("." in first or ":" in first or first == "localhost")


def _strip_host(reference: str) -> str:
    return reference.split("/", 1)[1] if _has_host(reference) else reference


def image_overrides(defaults: Any, mirror: str, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Value paths that name an image's registry or full repository, rewritten to the mirror.

    The mirror holds each image under its reference without the registry host
    (docker.elastic.co/kibana/kibana -> MIRROR/kibana/kibana). DIGIT's slash-less repositories
    are left to global.containerRegistry; images written into templates cannot be reached here
    and are reported by the render check.
    """
    found: dict[tuple[str, ...], str] = {}
    if isinstance(defaults, dict):
        registry = defaults.get("registry")
        repository = defaults.get("repository")
        if isinstance(registry, str) and registry and ("repository" in defaults or "image" in defaults):
            found[path + ("registry",)] = mirror
        elif isinstance(repository, str) and "/" in repository:
            found[path + ("repository",)] = f"{mirror}/{_strip_host(repository)}"
        image = defaults.get("image")
        if isinstance(image, str) and _has_host(image):
            found[path + ("image",)] = f"{mirror}/{_strip_host(image)}"
        for key, value in defaults.items():
            if isinstance(value, dict):
                found.update(image_overrides(value, mirror, path + (str(key),)))
    return found


def chart_image_overrides(chart: Path, mirror: str) -> dict[str, Any]:
    """Mirror overrides for a chart and its local dependencies (DIGIT's common values sit at the top)."""
    found = image_overrides(_chart_defaults(chart), mirror)
    meta = _chart_file(chart, "Chart.yaml")
    for dep in meta.get("dependencies") or []:
        repository = str(dep.get("repository") or "")
        if repository.startswith("file://"):
            source = (chart / repository[len("file://"):]).resolve()
        else:
            source = chart / "charts" / str(dep.get("name"))
        if not (source / "Chart.yaml").is_file():
            continue
        name = str(dep.get("alias") or dep.get("name"))
        prefix: tuple[str, ...] = () if name == "common" else (name,)
        for dep_path, value in image_overrides(_chart_defaults(source), mirror).items():
            found.setdefault(prefix + dep_path, value)
    tree: dict[str, Any] = {}
    for dotted, value in sorted(found.items()):
        _set(tree, dotted, value)
    return tree


# --- the two DIGIT files --------------------------------------------------------------------------

@dataclass
class EnvFiles:
    env: dict[str, Any]
    env_secrets: dict[str, Any]
    pending: list[Pending]
    secret_paths: list[tuple[str, ...]]      # leaves of env_secrets that hold secret values
    warnings: list[str] = field(default_factory=list)
    acme_email: str | None = None

    def merged(self) -> dict[str, Any]:
        return deep_merge(self.env, self.env_secrets)


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _plain(value: Any) -> Any:
    if isinstance(value, Pending):
        return value.stand_in
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def build_env_files(answers: Any, graph: ReleaseGraph, sizing: Sizing, db: DatabaseEndpoint, secrets: Secrets,
                    outputs: dict[str, Any]) -> EnvFiles:
    pending = [v for v in (db.host,) if isinstance(v, Pending)]
    fqdn = answers.domain.fqdn
    tls_mode = answers.domain.tls.mode
    global_values: dict[str, Any] = {"domain": fqdn}
    if answers.registry is not None:
        # DIGIT's common chart prefixes slash-less repositories with containerRegistry (default egovio);
        # Bitnami charts read imageRegistry.
        global_values["containerRegistry"] = f"{answers.registry.mirror}/{DIGIT_IMAGE_ORG}"
        global_values["imageRegistry"] = answers.registry.mirror
        if answers.registry.username:
            global_values["imagePullSecrets"] = [PULL_SECRET]
    storage_class = storage_class_for(answers)
    if storage_class:
        global_values["storageClass"] = storage_class

    db_url = f"jdbc:postgresql://{db.host}:{db.port}/{db.name}"
    env: dict[str, Any] = {
        "global": global_values,
        # DIGIT's root ingress always names the TLS secret <domain>-tls-certs; the issuer only matters
        # when cert-manager obtains the certificate.
        "root-ingress": {"cert-issuer": "letsencrypt-prod" if tls_mode == "letsencrypt" else ""},
        "configmaps": {"egov-config": {"data": {
            "db-host": db.host,
            "db-name": db.name,
            "db-url": db_url,
            "es-host": ES_HOST,
            "es-indexer-host": f"https://{ES_HOST}:9200/",
            "kafka-brokers": KAFKA_BROKERS,
            "egov-services-fqdn-name": f"https://{fqdn}/",
            "domain": fqdn,
        }}},
    }

    repos = answers.config_repos
    bucket = provisioned_bucket(outputs)
    for release in graph.releases:
        if not _uses_common(release.chart):
            continue
        defaults = _chart_defaults(release.chart)
        entry: dict[str, Any] = {"replicas": sizing.replicas}
        if isinstance(defaults.get("heap"), str):
            entry["heap"] = scale_heap(defaults["heap"], sizing.heap_scale)
        if defaults.get("memory_limits"):
            entry["memory_limits"] = scale_memory(defaults["memory_limits"], sizing.memory_scale)
        init = defaults.get("initContainers") or {}
        git_sync = init.get("gitSync") if isinstance(init, dict) else None
        if isinstance(git_sync, dict) and git_sync.get("enabled"):
            repo = repos.mdms if "mdms" in release.name else repos.configs
            entry["initContainers"] = {"gitSync": {"enabled": True, "repo": repo.url, "branch": repo.branch}}
        if release.name == "egov-filestore":
            if bucket:
                entry["fixed-bucketname"] = bucket
            if any(r.name == "minio" for r in graph.releases):
                entry["minio.url"] = MINIO_URL
        if release.name == "egov-hrms":
            # Upstream's default points at eGov's own dev environment.
            entry["employee-applink"] = f"https://{fqdn}/employee/user/login"
        if answers.registry is not None:
            entry = deep_merge(chart_image_overrides(release.chart, answers.registry.mirror), entry)
        env[release.name] = entry

    secret_values: dict[str, Any] = {"secrets": {}}
    s = secret_values["secrets"]
    password_key = "database.password"
    flyway_key = "database.flyway_password" if secrets.optional("database.flyway_password") else password_key
    s["db"] = {"username": db.username, "password": secrets.need(password_key),
               "flywayUsername": db.flyway_username, "flywayPassword": secrets.need(flyway_key)}
    s["egov-enc-service"] = {"master_password": secrets.need("credentials.enc_master_password"),
                             "master_salt": secrets.need("credentials.enc_master_salt"),
                             "master_initialvector": secrets.need("credentials.enc_master_iv")}
    s["kafka"] = {"clusterID": secrets.need("credentials.kafka_cluster_id")}
    s["elasticsearch"] = {"password": secrets.need("credentials.elasticsearch_password")}
    git_sync = {"ssh": secrets.need("config_repos.ssh_key")}
    # DIGIT's chart needs the key present; empty means git-sync will refuse the server's host key,
    # which the plan reports as a warning.
    known_hosts = secrets.optional("config_repos.known_hosts")
    git_sync["known_hosts"] = known_hosts or ""
    s["git-sync"] = git_sync
    s["user"] = {"username": SUPERUSER_NAME, "password": secrets.need("credentials.digit_superuser_password")}
    for section, keys in NOT_CONFIGURED.items():
        s[section] = dict.fromkeys(keys, "")
    secret_paths: list[tuple[str, ...]] = [
        ("secrets", "db", "password"), ("secrets", "db", "flywayPassword"),
        ("secrets", "egov-enc-service", "master_password"), ("secrets", "egov-enc-service", "master_salt"),
        ("secrets", "egov-enc-service", "master_initialvector"), ("secrets", "kafka", "clusterID"),
        ("secrets", "elasticsearch", "password"), ("secrets", "git-sync", "ssh"),
        ("secrets", "user", "password")]
    if known_hosts:
        secret_paths.append(("secrets", "git-sync", "known_hosts"))
    warnings = []
    if not known_hosts:
        warnings.append("config_repos.known_hosts is not set: git-sync will refuse the git server's host key "
                        "and services that clone the MDMS/config repos will not start")
    return EnvFiles(env=_plain(env), env_secrets=secret_values, pending=pending, secret_paths=secret_paths,
                    warnings=warnings, acme_email=getattr(answers.domain.tls, "email", None))


def storage_class_for(answers: Any) -> str | None:
    """The class every claim asks for: the answers' choice, the static one on SDC VMs, else the default."""
    explicit: str | None = getattr(answers.target, "storage_class", None)
    if explicit:
        return explicit
    if answers.target.kind == "sdc-vms":
        return STATIC_STORAGE_CLASS
    return None


# --- what the helmfiles add per release ------------------------------------------------------------

def _set(tree: dict[str, Any], dotted: tuple[str, ...], value: Any) -> None:
    node = tree
    for part in dotted[:-1]:
        node = node.setdefault(part, {})
    node[dotted[-1]] = value


def release_extras(name: str, env_files: EnvFiles, sizing: Sizing, storage_class: str | None) -> dict[str, Any]:
    """The inline values DIGIT's backbone helmfile gives each backbone release, from the same data."""
    secrets = env_files.env_secrets["secrets"]
    extras: dict[str, Any] = {}
    volumes = sizing.volumes
    if name == "postgresql":
        _set(extras, ("global", "postgresql", "auth", "postgresPassword"), secrets["db"]["password"])
        _set(extras, ("primary", "persistence", "size"), f"{volumes['postgres'][1]}Gi")
        if storage_class:
            _set(extras, ("primary", "persistence", "storageClass"), storage_class)
    elif name == "kafka-kraft":
        _set(extras, ("kraft", "clusterId"), secrets["kafka"]["clusterID"])
        count, size = volumes["kafka"]
        _set(extras, ("controller", "replicaCount"), max(1, count))
        _set(extras, ("controller", "persistence", "size"), f"{size}Gi")
        if storage_class:
            _set(extras, ("controller", "persistence", "storageClass"), storage_class)
    elif name in ("elasticsearch", "elasticsearch-data"):
        kind = "es_master" if name == "elasticsearch" else "es_data"
        count, size = volumes[kind]
        if name == "elasticsearch":
            _set(extras, ("secret", "password"), secrets["elasticsearch"]["password"])
        _set(extras, ("replicas",), max(1, count))
        _set(extras, ("volumeClaimTemplate", "resources", "requests", "storage"), f"{size}Gi")
        if storage_class:
            _set(extras, ("volumeClaimTemplate", "storageClassName"), storage_class)
    elif name == "cert-manager" and env_files.acme_email:
        for issuer in ("stage", "prod"):
            _set(extras, ("clusterIssuer", issuer, "acme", "email"), env_files.acme_email)
    elif name == "minio":
        _set(extras, ("persistence", "size"), f"{volumes['filestore'][1]}Gi")
        if storage_class:
            _set(extras, ("persistence", "storageClass"), storage_class)
    elif name == "jenkins" and storage_class:
        _set(extras, ("persistence", "storageClass"), storage_class)
    elif name == "ingress-nginx":
        _set(extras, ("domain",), env_files.env["global"]["domain"])
    elif name == "kibana":
        fqdn = env_files.env["global"]["domain"]
        _set(extras, ("ingress", "hosts"), [{"host": fqdn, "paths": [{"path": "/kibana"}]}])
        _set(extras, ("ingress", "tls"), [{"secretName": f"{fqdn}-tls-certs", "hosts": [fqdn]}])
    return extras


# The release whose chart turns env-secrets.yaml into the Kubernetes Secrets DIGIT's services read
# (by secretKeyRef), as DIGIT's own helmfile does: the only release that gets the whole secrets tree.
SECRETS_RELEASE = "configmaps"


_READS_SECRETS = re.compile(r'\.Values\.secrets\b|index\s+\.Values\s+"secrets"')


def _template_text(chart: Path) -> str:
    """The chart's templates that read the `secrets` tree at all (DIGIT's configmaps chart, egov-user's job)."""
    texts = []
    for path in sorted((chart / "templates").rglob("*")) if (chart / "templates").is_dir() else []:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if _READS_SECRETS.search(text):
                texts.append(text)
    return "\n".join(texts)


def _secrets_the_chart_reads(secrets: dict[str, Any], chart: Path) -> dict[str, Any]:
    """The entries of env-secrets' `secrets` tree that the chart's templates name (`$s.db`,
    `index $s "egov-enc-service"`, `.Values.secrets.user`): the configmaps chart turns them into
    Secrets; a few service charts (egov-user's superuser job) read one directly."""
    text = _template_text(Path(chart))
    if not text:
        return {}
    return {key: copy.deepcopy(value) for key, value in secrets.items()
            if re.search(r'(\.|")' + re.escape(key) + r'(\b|")', text)}


def release_values(name: str, env_files: EnvFiles, sizing: Sizing, storage_class: str | None,
                   chart: Path | None = None, mirror: str | None = None) -> dict[str, Any]:
    """env.yaml for every release; env-secrets.yaml only for the configmaps release; and the few
    secrets a third-party chart reads from its own values (release_extras) only for that release.

    Each Helm release record keeps its values, so a secret copied into every release's values
    would sit in every release record of the cluster.
    """
    secrets = env_files.env_secrets["secrets"]
    read = _secrets_the_chart_reads(secrets, chart) if chart is not None else {}
    if read:
        base = deep_merge(env_files.env, {"secrets": read})
    elif chart is None and name == SECRETS_RELEASE:
        base = env_files.merged()
    else:
        base = copy.deepcopy(env_files.env)
    values = deep_merge(base, release_extras(name, env_files, sizing, storage_class))
    if mirror and chart is not None and not _uses_common(chart):
        values = deep_merge(values, chart_image_overrides(chart, mirror))
    return values


def values_digest(values: dict[str, Any]) -> str:
    """sha256 of the values as canonical JSON, so key order and YAML formatting do not matter."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def mask_paths(tree: dict[str, Any], paths: list[tuple[str, ...]], mask: str) -> dict[str, Any]:
    """A copy with the leaves at `paths` replaced by `mask` (empty values stay visible as empty)."""
    shown = copy.deepcopy(tree)
    for path in paths:
        node: Any = shown
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(path[-1]):
            node[path[-1]] = mask
    return shown


def mask_secret_leaves(tree: Any, secret_values: set[str], mask: str) -> Any:
    """A copy with every leaf equal to (or containing) one of these secret values replaced by `mask` whole.

    Unlike redact.mask_tree (which masks registered values inside any string, for logs and
    journals), this hides the whole value in the plan files an operator reads and shares.

    Values shorter than the redactor's minimum are not searched for inside other text (a
    one-letter secret would mask everything); structural masking covers them where they sit.
    """
    secret_values = {s for s in secret_values if len(s) >= MIN_SEARCHED_SECRET}
    if isinstance(tree, dict):
        return {k: mask_secret_leaves(v, secret_values, mask) for k, v in tree.items()}
    if isinstance(tree, list):
        return [mask_secret_leaves(v, secret_values, mask) for v in tree]
    if isinstance(tree, str) and any(s and s in tree for s in secret_values):
        return mask
    return tree
