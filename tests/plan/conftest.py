"""Real parts for the plan and Helm tests: the rig's Kubernetes emulator and a throwaway PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
SAMPLE_CHARTS = FIXTURES / "charts"
SAMPLE_PROFILES = FIXTURES / "profiles"


def _wait_for(path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text().strip()
        time.sleep(0.05)
    raise TimeoutError(f"{path} did not appear within {timeout} s")


def _kubeconfig(url: str) -> str:
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: emulator, cluster: {{server: \"{url}\"}}}}]\n"
        "contexts: [{name: emulator, context: {cluster: emulator, user: tester}}]\n"
        "current-context: emulator\n"
        "users: [{name: tester, user: {token: not-a-secret}}]\n"
    )


@pytest.fixture(scope="session")
def kube_api(tmp_path_factory: pytest.TempPathFactory):
    """The rig's kmock-based API server in its own process; yields the kubeconfig path."""
    work = tmp_path_factory.mktemp("kube")
    port_file = work / "port"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with open(work / "emulator.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.rig.kube_emulator", "--dir", str(work), "--port-file", str(port_file)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )
    try:
        port = _wait_for(port_file, 30)
        kubeconfig = work / "kubeconfig"
        kubeconfig.write_text(_kubeconfig(f"http://127.0.0.1:{port}"))
        yield kubeconfig
    finally:
        process.terminate()
        process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not candidates:
        pytest.fail(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return str(candidates[-1])


@pytest.fixture(scope="session")
def helm_sql_dsn():
    """A PostgreSQL cluster of its own on a loopback port, as Helm's sql release storage."""
    # Not under pytest's root-only temp dir: the postgres user must reach it.
    work = Path(tempfile.mkdtemp(prefix="digit-plan-pg-"))
    data = work / "data"
    port = _free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        shutil.chown(work, "postgres")
        os.chmod(work, 0o700)
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*run_as, _pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([*run_as, _pg_bin("pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(work / "log"),
                    "-o", f"-p {port} -k {work} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True, timeout=90)
    try:
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", "CREATE DATABASE helm"],
                       check=True, capture_output=True, timeout=30)
        yield f"host=127.0.0.1 port={port} user=postgres dbname=helm sslmode=disable connect_timeout=10"
    finally:
        subprocess.run([*run_as, _pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)


# --- example answers files, pointed at the sample chart tree ----------------------------------------

EXAMPLES = REPO / "assets" / "examples"
CANARY = "CANARY-7f3e-db-password"
TEST_ENV = {
    "DIGIT_DB_PASSWORD": CANARY,
    "DIGIT_DB_ADMIN_PASSWORD": "admin-pw-for-tests-0001",
    "DIGIT_REGISTRY_PASSWORD": "registry-pw-for-tests-0002",
    "DIGIT_GIT_SSH_KEY": "-----BEGIN OPENSSH PRIVATE KEY-----\ngit-key-for-tests-0003\n-----END OPENSSH PRIVATE KEY-----\n",
    "DIGIT_SSH_KEY": "-----BEGIN OPENSSH PRIVATE KEY-----\nssh-key-for-tests-0004\n-----END OPENSSH PRIVATE KEY-----\n",
    "DIGIT_TLS_KEY": "-----BEGIN PRIVATE KEY-----\ntls-key-for-tests-0005\n-----END PRIVATE KEY-----\n",
    "OS_PASSWORD": "openstack-pw-for-tests-0006",
    "ARM_CLIENT_SECRET": "azure-secret-for-tests-0007",
}
# Fixed stored values, so golden files and digests do not depend on the random generator.
SEEDED_SECRETS = {
    "credentials.enc_master_password": "seeded-enc-master-password-0008",
    "credentials.enc_master_salt": "seedsalt",
    "credentials.enc_master_iv": "seededivabcd",
    "credentials.kafka_cluster_id": "c2VlZGVkLWthZmthLWlk",
    "credentials.elasticsearch_password": "seeded-es-password-0009",
    "credentials.grafana_admin_password": "seeded-grafana-password-0010",
    "credentials.jenkins_admin_password": "seeded-jenkins-password-0011",
    "database.password": "seeded-db-password-0012",
    "credentials.digit_superuser_password": "seeded-superuser-password-0013",
}
_PATH_KEYS = {"kubeconfig", "known_hosts", "cert", "ca_cert"}


def _file_content(relative: str) -> str:
    name = Path(relative).name
    if name.endswith(".crt"):
        return "-----BEGIN CERTIFICATE-----\nY2VydGlmaWNhdGUgZm9yIHRlc3Rz\n-----END CERTIFICATE-----\n"
    if "known_hosts" in name:
        return "git.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    if name.endswith(".json"):
        return "{}\n"
    if name == "kubeconfig":
        return _kubeconfig("http://127.0.0.1:9")
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\nfile-secret-for-tests-{name}\n-----END OPENSSH PRIVATE KEY-----\n"


def materialize_example(example: str, directory: Path, monkeypatch: pytest.MonkeyPatch,
                        charts: Path = SAMPLE_CHARTS, version: str = "digit-sample") -> Path:
    """The example answers file in `directory`, on the sample tree, with every file it names."""
    from ruamel.yaml import YAML

    yaml = YAML()
    data = yaml.load((EXAMPLES / example).read_text())
    data["release"]["charts"] = str(charts)
    data["release"]["version"] = version

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, dict) and set(value) == {"file"}:
                    _touch(directory / value["file"], _file_content(value["file"]))
                elif key in _PATH_KEYS and isinstance(value, str):
                    _touch(directory / value, _file_content(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    directory.mkdir(parents=True, exist_ok=True)
    profiles = directory / "profiles"
    if not profiles.exists():
        profiles.symlink_to(SAMPLE_PROFILES)
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    answers = directory / "answers.yaml"
    with answers.open("w") as handle:
        yaml.dump(data, handle)
    return answers


def _touch(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(text)


def seed_secrets(state_dir: Path) -> None:
    import json as _json

    state_dir.mkdir(parents=True, exist_ok=True)
    target = state_dir / "generated-secrets.json"
    target.write_text(_json.dumps({"version": 1, "values": SEEDED_SECRETS}))
    target.chmod(0o600)
