"""The issue's "Done means", each against the real rig through the real command."""
from __future__ import annotations

import json

import pytest

from tests.preflight.helpers import edited_answers, problems, run_cli, run_json


def test_clean_rig_passes_with_exit_0(rig) -> None:
    code, out, err, _ = run_cli(rig)
    assert code == 0, out + err
    for group in ("Nodes (SSH)", "Kubernetes cluster", "Database", "Domain and TLS"):
        assert group in out
    assert "preflight passed" in out
    code, report, _, _ = run_json(rig)
    assert code == 0 and report["ok"] is True
    assert report["summary"]["fail"] == 0 and report["summary"]["warn"] == 0 and report["summary"]["skip"] == 0
    ids = {c["id"] for c in report["checks"]}
    assert {"node.memory", "node.swap", "node.max_map_count", "k8s.default_storageclass", "db.auth",
            "domain.resolves"} <= ids
    for check in report["checks"]:
        assert check["measured"] and check["required"]


def test_undersized_and_swapping_nodes_fail_exactly(fresh_rig) -> None:
    rig = fresh_rig(nodes=3, facts=["n3:cpus=1", "n2:swap=on"], rollout_delay=0)
    code, report, err, _ = run_json(rig)
    assert code == 1, err
    assert problems(report) == {("node.cpu", "n3"), ("node.swap", "n2")}
    assert problems(report, "warn") == set() and problems(report, "skip") == set()
    by_id = {(c["id"], c["target"]): c for c in report["checks"]}
    cpu, swap = by_id["node.cpu", "n3"], by_id["node.swap", "n2"]
    assert cpu["measured"] == "1 vCPU" and cpu["required"].startswith(">= 4 vCPU")
    assert "vCPU" in cpu["remediation"]
    assert swap["measured"].startswith("on") and "swapoff -a" in swap["remediation"]
    code, out, _, _ = run_cli(rig)
    assert code == 1 and "preflight FAILED" in out and "swapoff -a" in out


@pytest.fixture(scope="module")
def spare_rig(tmp_path_factory):
    """A rig these tests may break a node of (each restores it, except the host-key test, which runs last)."""
    from tests.rig.rig import Rig

    rig = Rig.up(tmp_path_factory.mktemp("spare"), nodes=3, rollout_delay=0)
    yield rig
    rig.down()


def test_stopped_node_fails_within_its_timeout_others_pass(spare_rig) -> None:
    rig = spare_rig
    rig.stop_node("n2")
    try:
        code, report, _, seconds = run_json(rig)
    finally:
        rig.start_node("n2")
    assert code == 1
    assert problems(report) == {("node.ssh", "n2")}
    assert {c["target"] for c in report["checks"] if c["status"] == "skip"} == {"n2"}
    assert seconds < 20
    for node in ("n1", "n3"):
        assert all(c["status"] == "pass" for c in report["checks"] if c["target"].split(":")[0] == node)


def test_hung_node_times_out_without_stalling_the_others(spare_rig) -> None:
    rig = spare_rig
    connect_timeout = 2
    answers = edited_answers(rig, "answers-2s.yaml", lambda d: d["target"]["ssh"].__setitem__("connect_timeout", connect_timeout))
    rig.pause_node("n3")
    try:
        code, report, _, seconds = run_json(rig, "--only", "node", answers=answers)
    finally:
        rig.resume_node("n3")
    assert code == 1
    assert problems(report) == {("node.ssh", "n3")}
    failure = next(c for c in report["checks"] if c["id"] == "node.ssh" and c["target"] == "n3")
    assert "within 2s" in failure["measured"] or "timed out" in failure["measured"]
    assert seconds < connect_timeout + 8


def test_changed_host_key_fails_hard(spare_rig) -> None:
    rig = spare_rig
    pinned = rig.node("n1").host_key_fingerprint
    new = rig.rotate_host_key("n1")
    code, report, _, _ = run_json(rig, "--only", "node")
    assert code == 1
    assert problems(report) == {("node.host_key", "n1")}
    failure = next(c for c in report["checks"] if c["id"] == "node.host_key")
    assert "CHANGED" in failure["message"] and new in failure["message"]
    assert failure["required"] == pinned
    assert {c["id"] for c in report["checks"] if c["target"] == "n1" and c["status"] == "skip"} >= {"node.cpu", "node.ssh"}


def test_wrong_database_password_fails_the_database_check(rig) -> None:
    wrong = "not-the-password-" + "x" * 8
    code, report, err, _ = run_json(rig, env={"DIGIT_DB_PASSWORD": wrong})
    assert code == 1
    assert {cid for cid, _ in problems(report)} == {"db.auth"}
    assert wrong not in json.dumps(report) and wrong not in err
    assert all(c["status"] == "skip" for c in report["checks"] if c["id"] in ("db.version", "db.database"))
