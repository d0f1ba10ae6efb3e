"""Failures, Ctrl+C and kill -9 during provisioning, then --resume: nothing is created twice."""
from __future__ import annotations

import json
import os
import signal
import subprocess

from tests.cloud.conftest import CloudInstall, stop_group, terraform_pids, wait_for


def started(install: CloudInstall, kind: str) -> bool:
    return any(e["event"] == "create.start" and e["kind"] == kind for e in install.cloud_journal())


def test_a_resource_that_fails_names_itself_and_resume_creates_only_what_is_missing(cloud_install: CloudInstall):
    cloud_install.settings({"fail_create": ["database"]})
    run = cloud_install.run()
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]
    finished = [e for e in cloud_install.events(run.stdout) if e["event"] == "step.finished" and e["step"] == "provision"]
    assert finished and finished[-1]["outcome"] == "failed", run.stdout[-3000:]
    message = finished[-1]["message"]
    assert "standin_database.main[0]" in message and "creating database" in message, message
    failed_tasks = [e for e in cloud_install.events(run.stdout)
                    if e["event"] == "task.finished" and e["outcome"] == "failed"]
    assert [e["task"] for e in failed_tasks] == ["standin_database.main[0]"]
    made = {kind: cloud_install.creates(kind) for kind in ("cluster", "network", "bucket", "volume", "database")}
    assert made["database"] == 0 and made["cluster"] == 1 and made["volume"] == 14, made

    cloud_install.settings({})  # the operator fixes the cause
    resumed = cloud_install.run("--resume")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    after = {kind: cloud_install.creates(kind) for kind in made}
    assert after == {**made, "database": 1}, "only the missing database was created"
    assert cloud_install.outputs("provision")["created"] == ["standin_database.main[0]"]
    assert cloud_install.outputs("provision")["database"]["host"] == "127.0.0.1"


def test_ctrl_c_during_apply_stops_terraform_cleanly_and_resume_completes_without_duplicates(
        cloud_install: CloudInstall):
    cloud_install.write_answers(parallelism=1)
    cloud_install.settings({"delay_seconds": {"cluster": 4}})
    process = cloud_install.start()
    wait_for(lambda: started(cloud_install, "cluster"), 120, "the cluster's create to start")
    workdir = cloud_install.state / "terraform" / "work"
    assert terraform_pids(workdir), "Terraform runs while the cluster is created"
    process.send_signal(signal.SIGINT)  # what a terminal's Ctrl+C sends the installer (Terraform has its own session)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out[-2000:] + err[-2000:]
    assert terraform_pids(workdir) == [], "Terraform and its provider exited"
    journal = cloud_install.cloud_journal()
    assert any(e["event"] == "create.done" and e["kind"] == "cluster" for e in journal), \
        "the in-flight create finished instead of being cut off"
    in_state = cloud_install.tfstate_addresses()
    assert "standin_cluster.main" in in_state, "state holds what was created"
    objects = {kind: len(cloud_install.cloud_objects(kind)) for kind in ("cluster", "network", "bucket", "volume",
                                                                          "database")}
    total_before = sum(objects.values())
    assert total_before == len(in_state), (objects, in_state)
    assert not (cloud_install.state / "terraform" / "apply.pending").exists()

    cloud_install.settings({})
    resumed = cloud_install.run("--resume")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    after = {kind: len(cloud_install.cloud_objects(kind)) for kind in objects}
    assert after == {"cluster": 1, "network": 1, "bucket": 1, "volume": 14, "database": 1}
    assert cloud_install.creates("cluster") == 1
    created = cloud_install.outputs("provision")["created"]
    assert len(created) == sum(after.values()) - total_before, "resume created exactly what was missing"


def test_kill_9_of_the_installer_during_apply_resume_waits_reconciles_and_makes_no_second_cluster(
        cloud_install: CloudInstall):
    cloud_install.settings({"delay_seconds": {"cluster": 3}})
    process = cloud_install.start()
    wait_for(lambda: started(cloud_install, "cluster"), 120, "the cluster's create to start")
    process.kill()
    process.communicate(timeout=30)
    # Terraform is not the installer's child in the terminal's sense: it goes on and writes its state.
    resumed = cloud_install.run("--resume")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    events = cloud_install.events(resumed.stdout)
    warnings = " ".join(e.get("message", "") for e in events if e["event"] == "step.warning")
    assert "reconciling" in warnings
    assert cloud_install.creates("cluster") == 1 and len(cloud_install.cloud_objects("cluster")) == 1
    assert not any(e["event"] == "create.conflict" for e in cloud_install.cloud_journal())
    assert cloud_install.outputs("provision")["reconciled"] is True


def test_kill_9_of_everything_mid_create_leaves_an_orphan_that_resume_imports_instead_of_duplicating(
        cloud_install: CloudInstall):
    """A crash of the whole machine: installer, Terraform and provider die while the cloud creates the cluster."""
    cloud_install.settings({"delay_seconds": {"cluster": 30}})
    process = cloud_install.start()
    wait_for(lambda: started(cloud_install, "cluster"), 120, "the cluster's create to start")
    workdir = cloud_install.state / "terraform" / "work"
    process.kill()
    for pid in terraform_pids(workdir):
        stop_group(pid)
    process.communicate(timeout=30)
    wait_for(lambda: terraform_pids(workdir) == [], 30, "Terraform to be gone")
    state = cloud_install.state / "terraform" / "terraform.tfstate"
    assert not state.exists() or "standin_cluster.main" not in cloud_install.tfstate_addresses()
    assert [c["status"] for c in cloud_install.cloud_objects("cluster")] == ["creating"], "an orphan in the cloud"

    cloud_install.settings({})
    resumed = cloud_install.run("--resume")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert len(cloud_install.cloud_objects("cluster")) == 1
    assert not any(e["event"] == "create.conflict" for e in cloud_install.cloud_journal())
    assert any(e["event"] == "import" and e["kind"] == "cluster" for e in cloud_install.cloud_journal())
    out = cloud_install.outputs("provision")
    assert "standin_cluster.main" in out["imported"] and out["reconciled"] is True
    assert (cloud_install.state / "kubeconfig").exists()


def test_two_installers_never_run_terraform_on_one_state_at_once(cloud_install: CloudInstall):
    """The second run waits on the state lock Terraform holds (inherited), even with the first installer gone."""
    cloud_install.settings({"delay_seconds": {"cluster": 4}})
    first = cloud_install.start()
    wait_for(lambda: started(cloud_install, "cluster"), 120, "the cluster's create to start")
    first.kill()
    first.communicate(timeout=30)
    lock = cloud_install.state / "terraform" / "terraform.lock"
    holder = json.loads(lock.read_text())
    assert "terraform_pid" in holder and os.path.exists(f"/proc/{holder['terraform_pid']}")
    probe = subprocess.run(["flock", "-n", str(lock), "true"], capture_output=True, timeout=10)
    assert probe.returncode != 0, "the lock is still held by the orphaned Terraform"

