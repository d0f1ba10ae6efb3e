"""The rig itself: the emulator's fixed defects, the rollout simulator, nodes' facts, PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.rig.rig import SSH_USER, Rig, RigError, parse_facts


def _kube(rig: Rig):
    from kubernetes import client

    config = client.Configuration()
    config.host = rig.api_url
    return client.ApiClient(config)


def _ssh(rig: Rig, node: str, command: str) -> str:
    target = rig.node(node)
    result = subprocess.run(
        ["ssh", "-i", str(rig.ssh_key_path), "-p", str(target.port), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
         "-o", "ConnectTimeout=5", f"{SSH_USER}@{target.host}", command],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_discovery_answers_with_trailing_slash_and_core_group_version(rig: Rig) -> None:
    with urllib.request.urlopen(f"{rig.api_url}/api/", timeout=5) as response:
        assert json.load(response)["versions"] == ["v1"]
    with urllib.request.urlopen(f"{rig.api_url}/api/v1", timeout=5) as response:
        body = json.load(response)
    assert body["groupVersion"] == "v1"
    status = next(r for r in body["resources"] if r["name"] == "pods/status")
    assert status["shortNames"] == []
    from kubernetes import client

    assert client.VersionApi(_kube(rig)).get_code().git_version.startswith("v1.")


def test_namespaces_put_metadata_and_list_kind(rig: Rig) -> None:
    from kubernetes import client

    api = _kube(rig)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= {n.metadata.name for n in core.list_namespace().items}
    core.create_namespace({"metadata": {"name": "rigtest"}})
    cm = core.create_namespaced_config_map("rigtest", {"metadata": {"name": "c1"}, "data": {"a": "1"}})
    assert cm.metadata.namespace == "rigtest" and cm.metadata.uid and cm.metadata.resource_version
    assert cm.metadata.creation_timestamp is not None
    cm.data = {"b": "2"}
    replaced = core.replace_namespaced_config_map("c1", "rigtest", cm)
    assert replaced.data == {"b": "2"}
    assert int(replaced.metadata.resource_version) > int(cm.metadata.resource_version)
    with urllib.request.urlopen(f"{rig.api_url}/api/v1/namespaces/rigtest/configmaps", timeout=5) as response:
        assert json.load(response)["kind"] == "ConfigMapList"
    core.delete_namespace("rigtest")
    assert "rigtest" not in {n.metadata.name for n in core.list_namespace().items}
    assert apps.list_namespaced_deployment("rigtest").items == []
    assert core.list_namespaced_config_map("rigtest").items == []


def test_watch_honours_timeout(rig: Rig) -> None:
    from kubernetes import client, watch

    started = time.monotonic()
    events = list(watch.Watch().stream(client.CoreV1Api(_kube(rig)).list_namespace, timeout_seconds=1))
    assert 0.9 < time.monotonic() - started < 5
    assert {e["object"].metadata.name for e in events} >= {"default"}


def test_rollout_simulator_readiness_and_never_ready(rig: Rig) -> None:
    from kubernetes import client

    api = _kube(rig)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace({"metadata": {"name": "rollout"}})
    try:
        rig.set_rollout(never_ready=["bad"], reason="ImagePullBackOff")
        for release in ("good", "bad"):
            apps.create_namespaced_deployment("rollout", {
                "metadata": {"name": release, "labels": {"app.kubernetes.io/instance": release}},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": release}},
                         "template": {"metadata": {"labels": {"app": release}},
                                      "spec": {"containers": [{"name": "main", "image": "egovio/x:1"}]}}},
            })
        deadline = time.monotonic() + 10
        def ready(name: str) -> int:
            status = apps.read_namespaced_deployment(name, "rollout").status
            return (status.ready_replicas or 0) if status else 0

        while ready("good") != 2:
            assert time.monotonic() < deadline, "the simulator never marked 'good' ready"
            time.sleep(0.1)
        assert ready("bad") == 0
        pods = core.list_namespaced_pod("rollout", label_selector="app=bad").items
        assert len(pods) == 2
        assert pods[0].status.container_statuses[0].state.waiting.reason == "ImagePullBackOff"
        good = core.list_namespaced_pod("rollout", label_selector="app in (good)").items
        assert all(p.status.container_statuses[0].ready for p in good)
    finally:
        rig.set_rollout(never_ready=[], reason="CrashLoopBackOff")
        core.delete_namespace("rollout")


def test_nodes_report_rig_facts_and_unique_machine_ids(rig: Rig) -> None:
    ids = {_ssh(rig, n.name, "cat /etc/machine-id").strip() for n in rig.nodes}
    assert len(ids) == len(rig.nodes)
    assert _ssh(rig, "n1", "nproc").strip() == "8"
    assert _ssh(rig, "n2", "sudo -n id -u").strip() == "0"
    assert rig.fqdn in _ssh(rig, "n3", f"getent hosts {rig.fqdn}")


def test_fact_override_and_bad_fact_spec(fresh_rig) -> None:
    small = fresh_rig(nodes=2, facts=["n2:cpus=1", "n2:swap=on"], rollout_delay=0)
    assert _ssh(small, "n2", "nproc").strip() == "1"
    assert _ssh(small, "n2", "swapon --show --noheadings").strip()
    assert _ssh(small, "n1", "nproc").strip() == "8"
    with pytest.raises(RigError, match="NODE:KEY=VALUE"):
        parse_facts(["n1cpus=1"])
    with pytest.raises(RigError, match="unknown key"):
        parse_facts(["n1:cores=1"])


def test_postgres_install_user_and_admin(rig: Rig) -> None:
    import psycopg

    with psycopg.connect(rig.pg_dsn) as conn:
        assert conn.execute("select current_user").fetchone()[0] == "egov"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(rig.pg_dsn.replace(rig.env["DIGIT_DB_PASSWORD"], "wrong"))
    with psycopg.connect(rig.pg_dsn_admin) as conn:
        assert conn.execute("select rolcreatedb from pg_roles where rolname='egov'").fetchone()[0] is True


def test_up_is_idempotent_and_down_cleans(tmp_path) -> None:
    first = Rig.up(tmp_path / "r", nodes=1)
    second = Rig.up(tmp_path / "r", nodes=1)
    assert second.nodes[0].host_key_fingerprint != first.nodes[0].host_key_fingerprint
    second.down()
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"dr{second.rig_id}" not in listing
    assert second.fqdn not in open("/etc/hosts").read()
    assert not (tmp_path / "r" / "kube.pid").exists()


def test_loopback_nodes_without_namespaces(fresh_rig) -> None:
    small = fresh_rig(nodes=2, netns=False, facts=["n2:max_map_count=65530"], rollout_delay=0)
    assert not small.use_netns and {n.netns for n in small.nodes} == {None}
    assert len({n.host for n in small.nodes}) == 2 and all(n.host.startswith("127.") for n in small.nodes)
    assert _ssh(small, "n2", "sysctl -n vm.max_map_count").strip() == "65530"
    ids = {_ssh(small, n.name, "cat /etc/machine-id").strip() for n in small.nodes}
    assert len(ids) == 2
    assert small.fqdn in _ssh(small, "n1", f"getent hosts {small.fqdn}")


def test_rig_whose_directory_vanished_is_collected(tmp_path) -> None:
    import shutil

    lost = Rig.up(tmp_path / "lost", nodes=1, rollout_delay=0)
    pids = [int((tmp_path / "lost" / "kube.pid").read_text()), int((lost.node_dir(lost.nodes[0]) / "sshd.pid").read_text())]
    shutil.rmtree(tmp_path / "lost")
    Rig.collect_orphans()  # another process starting a rig may collect it first: judge by the effects
    deadline = time.monotonic() + 10
    while any(subprocess.run(["kill", "-0", str(p)], capture_output=True).returncode == 0 for p in pids):
        assert time.monotonic() < deadline, "orphaned rig processes still running"
        time.sleep(0.1)
    assert not lost.runtime.exists()
    assert lost.fqdn not in open("/etc/hosts").read()


def test_up_and_down_scripts(tmp_path) -> None:
    root = Path(__file__).resolve().parent
    bad = subprocess.run([str(root / "up"), "--dir", str(tmp_path / "bad"), "--nodes", "1", "--fact", "n2:cpus=1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "n2" in bad.stderr and "Traceback" not in bad.stderr
    up = subprocess.run([str(root / "up"), "--dir", str(tmp_path / "r"), "--nodes", "1", "--rollout-delay", "0"],
                        capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stderr
        assert "n1" in up.stdout and "answers" in up.stdout
        rig = Rig(tmp_path / "r")
        assert rig.nodes and rig.api_url and (tmp_path / "r" / "answers.yaml").exists()
        assert oct((tmp_path / "r" / "env").stat().st_mode & 0o777) == "0o600"
        assert oct((tmp_path / "r" / "kubeconfig").stat().st_mode & 0o777) == "0o600"
        with urllib.request.urlopen(f"{rig.api_url}/version", timeout=5) as response:
            assert json.load(response)["gitVersion"]
    finally:
        down = subprocess.run([str(root / "down"), "--dir", str(tmp_path / "r")], capture_output=True, text=True,
                              timeout=120)
    assert down.returncode == 0, down.stderr
    assert not (tmp_path / "r" / "kube.pid").exists()
