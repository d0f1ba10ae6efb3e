"""The whole pipeline on the stand-in cloud: provision -> database -> configure -> deploy, headless."""
from __future__ import annotations

import psycopg

from tests.cloud.conftest import CANARY_DB_PASSWORD, CloudInstall


def test_headless_install_provisions_the_cloud_and_deploys_with_a_bar_per_resource(cloud_install: CloudInstall):
    run = cloud_install.run()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    events = cloud_install.events(run.stdout)
    provision = [e for e in events if e.get("step") == "provision"]
    tasks = {e["task"] for e in provision if e["event"] == "step.progress" and e.get("task")}
    assert {"standin_cluster.main", "standin_database.main[0]", "standin_bucket.filestore",
            "standin_network.main"} <= tasks
    finished = {e["task"]: e["outcome"] for e in provision if e["event"] == "task.finished"}
    assert finished["standin_cluster.main"] == "succeeded"
    steps = {e["step"]: e["outcome"] for e in events if e["event"] == "step.finished"}
    assert steps["provision"] == "succeeded" and steps["deploy"] == "succeeded", steps

    out = cloud_install.outputs("provision")
    assert out["database"]["host"] == "127.0.0.1" and out["database"]["port"] == cloud_install.rig.pg_port
    assert out["bucket"] == f"{cloud_install.name}-filestore"
    assert (cloud_install.state / "kubeconfig").stat().st_mode & 0o777 == 0o600
    assert out["kubeconfig"] == str(cloud_install.state / "kubeconfig")
    db = cloud_install.outputs("database")
    assert db["host"] == "127.0.0.1" and db["name"] == out["database"]["name"]
    # The stand-in made the master role with the password the answers reference; DIGIT's user logs in with it.
    with psycopg.connect(host="127.0.0.1", port=cloud_install.rig.pg_port, user=out["database"]["username"],
                         password=CANARY_DB_PASSWORD, dbname=out["database"]["name"], connect_timeout=5) as conn:
        assert conn.execute("select current_user").fetchone()[0] == out["database"]["username"]
    assert len(cloud_install.cloud_objects("cluster")) == 1

    # A rerun changes nothing: Terraform's plan is empty, nothing is applied, DIGIT's releases are left alone.
    rerun = cloud_install.run(output="json")
    assert rerun.returncode == 0, rerun.stdout[-2000:]
    again = cloud_install.outputs("provision")
    assert again["created"] == [] and again["planned"] == {"add": 0, "change": 0, "destroy": 0}
    logs = [e["message"] for e in cloud_install.events(rerun.stdout) if e["event"] == "step.log"
            and e["step"] == "provision"]
    assert "the cloud already matches the stack; nothing to apply" in logs
    assert cloud_install.creates("cluster") == 1


def test_dry_run_plans_and_creates_nothing(cloud_install: CloudInstall):
    run = cloud_install.run("--dry-run")
    events = cloud_install.events(run.stdout)
    logs = [e["message"] for e in events if e["event"] == "step.log" and e["step"] == "provision"]
    assert any(m.startswith("plan: 18 to add, 0 to change, 0 to destroy") for m in logs), logs
    assert "dry run: planned only; nothing was created" in logs
    assert cloud_install.cloud_journal() == [] and not (cloud_install.cloud / "cluster").exists()
    assert not (cloud_install.state / "terraform" / "plan.tfplan").exists(), "the plan file (it holds variables) is gone"


def test_a_plan_that_differs_from_the_reviewed_one_is_not_applied(cloud_install: CloudInstall):
    """The wizard pins what Apply confirmed; a plan with a change the operator never saw stops the run."""
    import json

    from installer.provision.cloud.review import REVIEWED

    dry = cloud_install.run("--dry-run")
    planned = [e["task"] for e in cloud_install.events(dry.stdout)
               if e["event"] == "step.progress" and e.get("step") == "provision" and e.get("task")]
    assert "standin_bucket.filestore" in planned, planned
    pin = cloud_install.state / "terraform" / REVIEWED
    reviewed = {address: "create" for address in planned if address != "standin_bucket.filestore"}
    pin.write_text(json.dumps({"changes": reviewed}))

    run = cloud_install.run()
    assert run.returncode == 1, run.stdout[-2000:]
    failed = [e for e in cloud_install.events(run.stdout) if e["event"] == "step.finished" and e["step"] == "provision"]
    assert failed and failed[0]["outcome"] == "failed"
    assert "not reviewed: standin_bucket.filestore (create)" in failed[0]["message"], failed[0]
    assert cloud_install.cloud_journal() == [], "something was created although the plan was not the reviewed one"

    reviewed["standin_bucket.filestore"] = "create"  # the operator reviewed it all: the same plan applies
    pin.write_text(json.dumps({"changes": reviewed}))
    run = cloud_install.run("--resume")
    assert run.returncode == 0, run.stdout[-3000:]
    assert not pin.exists(), "the pin outlived the apply it confirmed"


def test_on_a_terminal_the_headless_run_shows_terraforms_plan_before_it_asks(cloud_install: CloudInstall):
    """As `terraform apply` does: the plan first, then the question; no creates nothing, yes applies that plan."""
    import pexpect

    from tests.cloud.conftest import REPO

    def spawn() -> pexpect.spawn:
        argv = [word for word in cloud_install.command(output="plain") if word != "--yes"]
        return pexpect.spawn(argv[0], argv[1:], cwd=str(REPO), env=cloud_install.env, encoding="utf-8",
                             timeout=240, dimensions=(24, 80))

    child = spawn()
    child.expect(r"\+ standin_cluster\.main \(create\)")
    child.expect(r"Plan: 18 to add, 0 to change, 0 to destroy\.")
    child.expect(r"\[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert cloud_install.cloud_journal() == [] and not (cloud_install.state / "terraform" / "reviewed-plan.json").exists()

    child = spawn()
    child.expect(r"Plan: 18 to add")
    child.expect(r"\[y/N\]")
    child.sendline("y")
    child.expect("The install of 'cloud-standin' succeeded", timeout=400)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert cloud_install.creates("cluster") == 1
    assert not (cloud_install.state / "terraform" / "reviewed-plan.json").exists(), "applied: the pin is spent"
