"""Generated secrets: created once, kept in the cluster and in the state directory, reused forever.

Keys are the answers key paths of `{generate: true}` references, e.g.
`credentials.enc_master_password` or `database.password`.

Two copies:
- `<state dir>/generated-secrets.json`, mode 0600 (the plan works offline from it);
- Secret `digit-installer-generated` in namespace `digit-installer`, labelled as managed by the
  installer, so a rerun from another jump host that can read the cluster reuses the same values.
The cluster copy wins when both hold a key (it is the one every jump host shares). A value
present in either copy is never generated again; only absent keys are generated, and they are
written to both copies before anything uses them.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from collections.abc import Callable

from installer import redact
from installer.adapters.kube import KubeCluster, KubeError
from installer.files import atomic_write
from installer.state import read_private

STATE_FILE = "generated-secrets.json"
CLUSTER_NAMESPACE = "digit-installer"
CLUSTER_SECRET = "digit-installer-generated"
MANAGED_BY = {"app.kubernetes.io/managed-by": "digit-installer"}
_ALNUM = string.ascii_letters + string.digits


class SecretStoreError(Exception):
    pass


def _alnum(length: int) -> Callable[[], str]:
    return lambda: "".join(secrets.choice(_ALNUM) for _ in range(length))


def kafka_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, base64url without padding (Kafka's Uuid form)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()


# What each generated secret looks like. The enc-service salt and IV lengths are the ones its
# AES-GCM setup takes (8 and 12 characters); passwords avoid characters that need quoting.
GENERATORS: dict[str, Callable[[], str]] = {
    "credentials.enc_master_password": _alnum(32),
    "credentials.enc_master_salt": _alnum(8),
    "credentials.enc_master_iv": _alnum(12),
    "credentials.kafka_cluster_id": kafka_cluster_id,
    "credentials.elasticsearch_password": _alnum(24),
    "credentials.grafana_admin_password": _alnum(24),
    "credentials.jenkins_admin_password": _alnum(24),
    "database.password": _alnum(24),
    # DIGIT's first SUPERUSER, created by egov-user's job.
    "credentials.digit_superuser_password": _alnum(20),
    # RKE2's cluster token: every node presents it to join; it only ever travels inside 0600 files.
    "target.rke2.token": _alnum(48),
}


def generator_for(key: str) -> Callable[[], str]:
    return GENERATORS.get(key, _alnum(24))


class ClusterCopy(Protocol):
    def read(self) -> dict[str, str] | None: ...
    def write(self, values: dict[str, str]) -> None: ...


def _to_data(values: dict[str, str]) -> dict[str, str]:
    # Secret data keys allow [-._a-zA-Z0-9]; answers key paths already fit.
    return {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}


class KubeClusterCopy:
    """The cluster copy, a Secret read and written through the Kubernetes adapter."""

    def __init__(self, cluster: KubeCluster, namespace: str = CLUSTER_NAMESPACE, name: str = CLUSTER_SECRET) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.name = name

    def read(self) -> dict[str, str] | None:
        try:
            secret = self.cluster.get("Secret", self.name, self.namespace)
        except KubeError as exc:
            raise SecretStoreError(f"cannot read Secret {self.namespace}/{self.name}: {exc}") from None
        if secret is None:
            return None
        data = secret.get("data") or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def write(self, values: dict[str, str]) -> None:
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": self.name, "namespace": self.namespace, "labels": dict(MANAGED_BY)},
                "data": _to_data(values)}
        try:
            self.cluster.create({"apiVersion": "v1", "kind": "Namespace",
                                 "metadata": {"name": self.namespace, "labels": dict(MANAGED_BY)}})
        except KubeError as exc:
            raise SecretStoreError(f"cannot create namespace {self.namespace}: {exc}") from None
        try:
            if not self.cluster.create(body):
                self.cluster.patch("Secret", self.name, {"data": _to_data(values)}, self.namespace)
        except KubeError as exc:
            raise SecretStoreError(f"cannot store Secret {self.namespace}/{self.name}: {exc}") from None


@dataclass
class SecretStore:
    state_dir: Path
    cluster: ClusterCopy | None = None
    # A dry run shows what would be generated without keeping anything.
    persist: bool = True

    @property
    def path(self) -> Path:
        return Path(self.state_dir) / STATE_FILE

    def _read_local(self) -> dict[str, str]:
        # Refuses a planted file (someone else's, a symlink) and makes a 0644 one 0600 again.
        raw = read_private(self.path)
        if raw is None:
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise SecretStoreError(f"{self.path}: unreadable ({exc.__class__.__name__}); restore it from the "
                                   f"cluster Secret {CLUSTER_NAMESPACE}/{CLUSTER_SECRET} or a backup") from None
        values = data.get("values") if isinstance(data, dict) else None
        if not isinstance(values, dict):
            raise SecretStoreError(f"{self.path}: no 'values' mapping")
        return {str(k): str(v) for k, v in values.items()}

    def _write_local(self, values: dict[str, str]) -> None:
        text = json.dumps({"version": 1, "values": dict(sorted(values.items()))}, indent=2) + "\n"
        atomic_write(self.path, text, 0o600)

    def load(self) -> dict[str, str]:
        """Every stored value; cluster values win. Registers each with the redactor."""
        values = self._read_local()
        remote = self.cluster.read() if self.cluster is not None else None
        if remote:
            values.update(remote)
        for value in values.values():
            redact.register(value)
        return values

    def ensure(self, keys: list[str]) -> tuple[dict[str, str], list[str]]:
        """The values of `keys`, generating only the absent ones; returns (values, generated keys)."""
        local = self._read_local()
        remote = self.cluster.read() if self.cluster is not None else None
        merged = {**local, **(remote or {})}
        generated = [key for key in keys if not merged.get(key)]
        for key in generated:
            merged[key] = generator_for(key)()
        for value in merged.values():
            redact.register(value)
        if not self.persist:
            return {key: merged[key] for key in keys}, generated
        if generated or merged != local:
            self._write_local(merged)
        if self.cluster is not None and (generated or remote is None or any(remote.get(k) != v for k, v in merged.items())):
            self.cluster.write(merged)
        return {key: merged[key] for key in keys}, generated

    def keep(self, key: str, value: str) -> None:
        """Store a value found elsewhere (a cluster's own token read back from its node) under `key`."""
        redact.register(value)
        if not self.persist:
            return
        local = self._read_local()
        if local.get(key) != value:
            self._write_local({**local, key: value})

    def get(self, key: str) -> str | None:
        return self.load().get(key)


def generated_keys(answers: Any) -> list[str]:
    """Key paths of every `{generate: true}` reference in the answers that the plan may use."""
    keys = []
    credentials = answers.credentials
    for field_name in type(credentials).model_fields:
        ref = getattr(credentials, field_name)
        if ref is not None and getattr(ref, "generate", None):
            keys.append(f"credentials.{field_name}")
    password = getattr(answers.database, "password", None)
    if password is not None and getattr(password, "generate", None):
        keys.append("database.password")
    return keys


def get(ctx: Any, key: str) -> str | None:
    """A stored generated value for a pipeline step (the configure step created it)."""
    return SecretStore(Path(ctx.state_dir)).load().get(key)
