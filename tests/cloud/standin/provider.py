"""A stand-in cloud for the tests: a real Terraform provider (protocol 6, PyPI `tf`) written by us.

It keeps the contract a cloud provider has with Terraform (plan, create, read, update, delete, import,
diagnostics, sensitive attributes) and stores its "cloud" as JSON files in a folder:
DIR/<kind>/<name or id>.json. It is named a stand-in everywhere; nothing here talks to a real cloud.

- `standin_cluster` hands back the rig's Kubernetes API emulator: its kubeconfig (sensitive) is the
  rig's, read from settings["kubeconfig"]. Cluster names are unique, as on EKS/AKS/GKE: creating one
  whose name exists fails. It can be imported by name (what reconciliation after a crash uses).
- `standin_database` makes the master role and the database in the rig's PostgreSQL (as RDS does with
  its master user), through settings["postgres"]["admin_dsn"]; the password itself is never stored in
  the cloud's files, only its sha256.
- `standin_network`, `standin_vm`, `standin_volume`, `standin_bucket`: JSON files with ids. A `standin_vm`
  with cloud-init user_data boots a rig node (settings["vm_nodes"]) with the host key the user_data carries.
- Credentials come from the environment like a real provider's: AWS_SECRET_ACCESS_KEY (or, for the
  openstack-kind stack, OS_PASSWORD) must be set;
  its sha256 is recorded in DIR/credentials.sha256 so a test can prove it arrived.

An object is written (status "creating") as soon as its create starts and marked "active" when the
create returns, after settings' delay: killing Terraform meanwhile leaves an object the state lacks.

DIR/settings.json (re-read at every create): {"fail_create": ["cluster", "database:egov-db"],
"delay_seconds": {"cluster": 3}, "kubeconfig": PATH, "postgres": {"host", "port", "admin_dsn"},
"vm_addresses": {NAME: IP}}. Every create is appended to DIR/journal.jsonl (start and end), which is
how tests count duplicates.

Like Go providers, it ignores SIGINT (Terraform forwards Ctrl+C to its process group and then asks
in-flight operations to finish) and stops only on go-plugin's Shutdown call; `tf`'s own runner would
stop its server on StopProvider, which orphans what is being created.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tf import runner, schema, types
from tf.iface import (Config, CreateContext, DataSource, DeleteContext, ImportContext, ReadContext, Resource,
                      State, UpdateContext)
from tf.provider import Provider
from tf.utils import Diagnostics

ADDRESS = "registry.digit.test/digit/standin"


class Cloud:
    def __init__(self, directory: str) -> None:
        self.dir = Path(directory)

    def settings(self) -> dict[str, Any]:
        path = self.dir / "settings.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def path(self, kind: str, key: str) -> Path:
        return self.dir / kind / f"{key}.json"

    def load(self, kind: str, key: str) -> dict | None:
        path = self.path(kind, key)
        return json.loads(path.read_text()) if path.exists() else None

    def save(self, kind: str, key: str, data: dict) -> None:
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, path)

    def remove(self, kind: str, key: str) -> None:
        self.path(kind, key).unlink(missing_ok=True)

    def journal(self, **record: Any) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "journal.jsonl", "a") as handle:
            handle.write(json.dumps({"time": time.time(), "pid": os.getpid(), **record}) + "\n")

    def before_create(self, diags: Diagnostics, kind: str, name: str) -> bool:
        """Injected delay and failure; False when the create must fail."""
        settings = self.settings()
        self.journal(event="create.start", kind=kind, name=name)
        delay = float((settings.get("delay_seconds") or {}).get(kind, 0))
        if delay:
            time.sleep(delay)
        failing = settings.get("fail_create") or []
        if kind in failing or f"{kind}:{name}" in failing:
            diags.add_error(f"stand-in cloud: creating {kind} {name!r} failed",
                            f"injected failure (settings.json fail_create names {kind})")
            self.journal(event="create.failed", kind=kind, name=name)
            return False
        return True


class StandinProvider(Provider):
    def __init__(self) -> None:
        self.cloud: Cloud | None = None

    def full_name(self) -> str:
        return ADDRESS

    def get_model_prefix(self) -> str:
        return "standin_"

    def get_provider_schema(self, diags: Diagnostics) -> schema.Schema:
        return schema.Schema(attributes=[schema.Attribute("directory", types.String(), required=True)])

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        pass

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY") or os.environ.get("OS_PASSWORD")
        if not secret:
            diags.add_error("stand-in cloud: no credentials",
                            "neither AWS_SECRET_ACCESS_KEY nor OS_PASSWORD is set in the provider's environment")
            return
        self.cloud = Cloud(config["directory"])
        self.cloud.dir.mkdir(parents=True, exist_ok=True)
        (self.cloud.dir / "credentials.sha256").write_text(hashlib.sha256(secret.encode()).hexdigest())

    def get_data_sources(self) -> list[type[DataSource]]:
        return []

    def get_resources(self) -> list[type[Resource]]:
        return [Network, Vm, Volume, Bucket, Cluster, Database]


def attr(name: str, kind: Any = None, **flags: Any) -> schema.Attribute:
    return schema.Attribute(name, kind or types.String(), **flags)


class JsonResource(Resource):
    """Objects keyed by a generated id; subclasses say their kind and attributes."""
    kind = ""
    keyed_by_name = False
    attributes: list[schema.Attribute] = []

    def __init__(self, provider: StandinProvider) -> None:
        self.provider = provider

    @property
    def cloud(self) -> Cloud:
        assert self.provider.cloud is not None
        return self.provider.cloud

    @classmethod
    def get_name(cls) -> str:
        return cls.kind

    @classmethod
    def get_schema(cls) -> schema.Schema:
        return schema.Schema(attributes=[attr("id", computed=True), *cls.attributes])

    def fill(self, ctx: CreateContext, state: State) -> bool:
        """Computed attributes at create; False when it failed."""
        return True

    def create(self, ctx: CreateContext, planned: State) -> State | None:
        state = copy.deepcopy(planned)
        name = state.get("name") or ""
        if self.keyed_by_name and self.cloud.load(self.kind, name) is not None:
            ctx.diagnostics.add_error(f"stand-in cloud: a {self.kind} named {name!r} already exists",
                                      "names are unique in this cloud (as for EKS, AKS and GKE clusters)")
            self.cloud.journal(event="create.conflict", kind=self.kind, name=name)
            return None
        state["id"] = name if self.keyed_by_name else f"{self.kind}-{uuid.uuid4().hex[:10]}"
        if not self.fill(ctx, state):
            return None
        # As in a real cloud, the object exists (creating) for as long as the create call takes; a Terraform
        # killed meanwhile never records it: that is the orphan reconciliation has to find.
        self.cloud.save(self.kind, state["id"], {**self.stored(state), "status": "creating"})
        if not self.cloud.before_create(ctx.diagnostics, self.kind, name):
            self.cloud.remove(self.kind, state["id"])
            return None
        self.cloud.save(self.kind, state["id"], {**self.stored(state), "status": "active"})
        self.cloud.journal(event="create.done", kind=self.kind, name=name, id=state["id"])
        return state

    def stored(self, state: State) -> dict:
        return dict(state)

    def import_(self, ctx: ImportContext, id: str) -> State | None:
        data = self.cloud.load(self.kind, id)
        if data is None:
            return None
        self.cloud.journal(event="import", kind=self.kind, id=id)
        return {a.name: data.get(a.name) for a in self.get_schema().attributes}

    def read(self, ctx: ReadContext, current: State) -> State | None:
        data = self.cloud.load(self.kind, current["id"])
        if data is None:
            return None
        merged = dict(current)
        merged.update({k: v for k, v in data.items() if k in current})
        return merged

    def update(self, ctx: UpdateContext, current: State, planned: State) -> State | None:
        state = copy.deepcopy(planned)
        for key, value in current.items():
            if state.get(key) is None and value is not None:
                state[key] = value
        self.cloud.save(self.kind, state["id"], self.stored(state))
        return state

    def delete(self, ctx: DeleteContext, current: State) -> None:
        self.cloud.remove(self.kind, current["id"])
        self.cloud.journal(event="delete", kind=self.kind, id=current["id"])


class Network(JsonResource):
    kind = "network"
    attributes = [attr("name", required=True, requires_replace=True), attr("cidr", required=True)]


class Vm(JsonResource):
    """A VM. With user_data, it boots as cloud-init would: the host key pair in `ssh_keys` becomes its SSH host
    key (and nothing else does). settings["vm_nodes"][name] names the rig node that plays the VM: its host
    key file is replaced by the given key and its sshd told to reload (SIGHUP re-executes sshd, which reads
    its host keys again), so whoever connects meets exactly the key the user_data carried."""
    kind = "vm"
    attributes = [attr("name", required=True, requires_replace=True), attr("flavor", required=True),
                  attr("network_id", required=True), attr("private_ip", computed=True),
                  attr("user_data", optional=True, sensitive=True, requires_replace=True)]

    def fill(self, ctx: CreateContext, state: State) -> bool:
        settings = self.cloud.settings()
        addresses = settings.get("vm_addresses") or {}
        node = (settings.get("vm_nodes") or {}).get(state["name"])
        state["private_ip"] = (node or {}).get("address") or addresses.get(
            state["name"], f"10.99.0.{len(list(self.cloud.dir.glob('vm/*.json'))) + 10}")
        if node and state.get("user_data"):
            return self.boot(ctx, state, node)
        return True

    def boot(self, ctx: CreateContext, state: State, node: dict) -> bool:
        text = str(state["user_data"])
        if not text.startswith("#cloud-config\n"):
            ctx.diagnostics.add_error(f"stand-in cloud: vm {state['name']!r}: user_data is not #cloud-config")
            return False
        try:
            config = json.loads(text.split("\n", 1)[1])  # the installer's stack writes JSON, which is YAML
            keys = config["ssh_keys"]
            private, public = keys["ed25519_private"], keys["ed25519_public"]
        except (ValueError, KeyError, TypeError):
            ctx.diagnostics.add_error(f"stand-in cloud: vm {state['name']!r}: user_data has no ed25519 ssh_keys")
            return False
        if not config.get("ssh_deletekeys") or config.get("ssh_genkeytypes") != []:
            ctx.diagnostics.add_error(f"stand-in cloud: vm {state['name']!r}: user_data keeps or generates other "
                                      "host keys (ssh_deletekeys true and ssh_genkeytypes [] are required)")
            return False
        key_path = Path(node["key_path"])
        fd = os.open(key_path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(private if private.endswith("\n") else private + "\n")
        os.replace(key_path.with_suffix(".tmp"), key_path)
        key_path.with_suffix(".pub").write_text(public + "\n")
        pid = int(Path(node["pid_file"]).read_text().split()[0])
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # sshd listens again once it has re-executed
            import socket

            try:
                with socket.create_connection((state["private_ip"], int(node.get("port", 22))), timeout=1) as conn:
                    if conn.recv(64).startswith(b"SSH-"):
                        break
            except OSError:
                time.sleep(0.1)
        self.cloud.journal(event="vm.booted", name=state["name"], public_key=public)
        return True

    def stored(self, state: State) -> dict:
        data = {k: v for k, v in state.items() if k != "user_data"}  # a cloud keeps user_data, but not in our files
        data["user_data_sha256"] = hashlib.sha256(str(state.get("user_data") or "").encode()).hexdigest()
        return data

    def read(self, ctx: ReadContext, current: State) -> State | None:
        data = self.cloud.load(self.kind, current["id"])
        if data is None:
            return None
        merged = dict(current)
        merged.update({k: v for k, v in data.items() if k in current and k != "user_data"})
        return merged


class Volume(JsonResource):
    kind = "volume"
    attributes = [attr("name", required=True, requires_replace=True),
                  attr("size_gb", types.Number(), required=True)]


class Bucket(JsonResource):
    kind = "bucket"
    keyed_by_name = True
    attributes = [attr("name", required=True, requires_replace=True)]


class Cluster(JsonResource):
    kind = "cluster"
    keyed_by_name = True
    attributes = [attr("name", required=True, requires_replace=True), attr("version", required=True),
                  attr("node_count", types.Number(), required=True), attr("network_id", required=True),
                  attr("endpoint", computed=True), attr("ca_certificate", computed=True),
                  attr("kubeconfig", computed=True, sensitive=True)]

    def fill(self, ctx: CreateContext, state: State) -> bool:
        source = self.cloud.settings().get("kubeconfig")
        if not source:
            ctx.diagnostics.add_error("stand-in cloud: settings.json names no kubeconfig for clusters")
            return False
        text = Path(source).read_text()
        config = json.loads(text)
        cluster = config["clusters"][0]["cluster"]
        state["endpoint"] = cluster["server"]
        state["ca_certificate"] = cluster.get("certificate-authority-data", "")
        state["kubeconfig"] = text
        return True

    def stored(self, state: State) -> dict:
        return dict(state)  # the "cloud" keeps its own admin credentials, as a managed control plane does


class Database(JsonResource):
    kind = "database"
    keyed_by_name = True
    attributes = [attr("name", required=True, requires_replace=True), attr("db_name", required=True),
                  attr("username", required=True), attr("password", required=True, sensitive=True),
                  attr("engine_version", required=True), attr("instance_class", required=True),
                  attr("host", computed=True), attr("port", types.Number(), computed=True)]

    def fill(self, ctx: CreateContext, state: State) -> bool:
        postgres = self.cloud.settings().get("postgres")
        if not postgres:
            state["host"], state["port"] = "db.standin.invalid", 5432
            return True
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(postgres["admin_dsn"], autocommit=True, connect_timeout=10) as conn:
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (state["username"],)).fetchone()
                verb = "ALTER" if exists else "CREATE"
                conn.execute(sql.SQL(verb + " ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(state["username"]), sql.Literal(state["password"])))
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (state["db_name"],)).fetchone():
                    conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(state["db_name"]), sql.Identifier(state["username"])))
        except Exception as exc:
            ctx.diagnostics.add_error(f"stand-in cloud: the database server refused: {type(exc).__name__}")
            return False
        state["host"], state["port"] = postgres["host"], int(postgres["port"])
        return True

    def stored(self, state: State) -> dict:
        data = {k: v for k, v in state.items() if k != "password"}
        data["password_sha256"] = hashlib.sha256(str(state["password"]).encode()).hexdigest()
        return data

    def read(self, ctx: ReadContext, current: State) -> State | None:
        data = self.cloud.load(self.kind, current["id"])
        if data is None:
            return None
        merged = dict(current)
        merged.update({k: v for k, v in data.items() if k in current and k != "password"})
        return merged


class _ShutdownOnlyOnController:
    """Replaces tf's interceptor: StopProvider must not stop the server while creates are in flight."""

    def __init__(self) -> None:
        self.stopped = False
        self.server = None

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        result = continuation(details)
        if details.method == "/plugin.GRPCController/Shutdown":
            self.stopped = True
        return result


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runner._ShutdownInterceptor = _ShutdownOnlyOnController  # type: ignore[attr-defined]
    runner.run_provider(StandinProvider(), sys.argv)


if __name__ == "__main__":
    main()
