"""Helm's release records in either store the rig offers: Secrets (Helm's default, as on every real cluster)
or PostgreSQL (`HELM_DRIVER=sql`). Each run is its own `./install.sh` process, so a rerun that finds every
release unchanged, and `status`, read what the first process stored."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO

pytestmark = pytest.mark.timeout(400)


def _env(rig) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_DRIVER", "DIGIT_INSTALLER_TEST"))}
    return {**env, **rig.env, "PYTHONPATH": str(REPO), "DIGIT_INSTALLER_READINESS_POLL": "0.2"}


def _install(rig, state: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "install.sh"), "--answers", str(rig.answers_path), "--state-dir", str(state),
                           "--output", "plain", "--yes", *args], cwd=REPO, env=_env(rig), capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("driver", ["secret", "sql"])
def test_install_rerun_and_status_see_the_stored_releases(fresh_rig, tmp_path, driver) -> None:
    from kubernetes import client, config

    rig = fresh_rig(nodes=1, rollout_delay=0, helm_driver=driver)
    state = tmp_path / "state"
    first = _install(rig, state)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    report = json.loads((state / "deploy-report.json").read_text())["deploy"]
    deployed = set(report["deployed"])
    assert "egov-user" in deployed and report["failed"] == []

    core = client.CoreV1Api(config.new_client_from_config(config_file=str(rig.kubeconfig_path)))
    records = {s.metadata.labels["name"] for s in
               core.list_secret_for_all_namespaces(label_selector="owner=helm").items}
    if driver == "secret":
        assert records >= deployed
    else:
        assert records == set()
        import psycopg

        with psycopg.connect(rig.env["HELM_DRIVER_SQL_CONNECTION_STRING"], connect_timeout=5) as conn:
            stored = {row[0] for row in conn.execute("SELECT DISTINCT name FROM releases_v1")}
        assert stored >= deployed

    again = _install(rig, state)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    rerun = json.loads((state / "deploy-report.json").read_text())["deploy"]
    assert rerun["deployed"] == [] and set(rerun["unchanged"]) == deployed

    status = subprocess.run([str(REPO / "install.sh"), "status", "--answers", str(rig.answers_path),
                             "--state-dir", str(state)], cwd=REPO, env=_env(rig), capture_output=True, text=True,
                            timeout=120)
    assert status.returncode == 0, status.stderr
    assert "every step succeeded" in status.stdout
