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
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.rig.kube_emulator", "--dir", str(work), "--port-file", str(port_file)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=open(work / "emulator.log", "w"),
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
