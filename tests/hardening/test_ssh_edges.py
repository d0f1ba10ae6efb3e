"""SSH edges: a command past its time limit ends on the node too; known_hosts markers are understood."""
from __future__ import annotations

import time

import pytest

from installer.adapters.ssh import HostKeyPolicy, SSHError, connect, load_private_key
from tests.rig.rig import SSH_USER


def session(rig, node, policy=None, timeout=5):
    key = load_private_key(rig.ssh_key_path.read_text())
    return connect(node.host, node.port, SSH_USER, key,
                   policy or HostKeyPolicy(pinned={node.host: node.host_key_fingerprint}), timeout=timeout)


def still_running(rig, node, pattern: str) -> str:
    with session(rig, node) as other:
        return other.run(f"pgrep -af '{pattern}' || true").stdout.strip()


def test_a_command_past_its_limit_is_ended_on_the_node(rig):
    node = rig.nodes[0]
    with session(rig, node) as ssh:
        started = time.monotonic()
        with pytest.raises(SSHError, match="did not finish within 2s"):
            # A child in the background and one that ignores TERM: both must be gone afterwards.
            ssh.run("sleep 987 & sh -c 'trap \"\" TERM; sleep 986' & sleep 985; wait", timeout=2)
        assert time.monotonic() - started < 8
    deadline = time.monotonic() + 5
    while still_running(rig, node, "sleep 98[567]") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert still_running(rig, node, "sleep 98[567]") == ""


def test_commands_within_their_limit_are_unchanged(rig):
    node = rig.nodes[0]
    with session(rig, node) as ssh:
        result = ssh.run("echo \"$0 it's\" 'quoted'; echo err >&2; exit 3", timeout=5)
    assert result.exit_status == 3 and result.stdout.endswith("it's quoted\n") and result.stderr == "err\n"


# ---------------------------------------------------------------- known_hosts markers

def host_line(rig, node, marker: str = "", pattern: str | None = None) -> str:
    key_type, blob = (rig.node_dir(node) / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    name = pattern or (node.host if node.port == 22 else f"[{node.host}]:{node.port}")
    return " ".join(filter(None, [marker, name, key_type, blob]))


def known_hosts_answers(rig, lines: list[str], name: str):
    from tests.preflight.helpers import edited_answers

    known = rig.dir / f"{name}.known_hosts"
    known.write_text("\n".join(lines) + "\n")

    def use(data) -> None:
        data["target"]["ssh"].pop("host_keys", None)
        data["target"]["ssh"]["known_hosts"] = known.name

    return edited_answers(rig, f"{name}.yaml", use)


def host_key_results(rig, answers) -> dict[str, dict]:
    from tests.preflight.helpers import run_inprocess

    _, report, _, _ = run_inprocess(rig, "--only", "node.host_key,node.ssh", answers=answers)
    return {(c["id"], c["target"]): c for c in report["checks"]}


def test_revoked_key_is_refused_with_its_fingerprint_and_others_still_pass(rig):
    n1, n2, n3 = rig.nodes[:3]
    answers = known_hosts_answers(rig, [host_line(rig, n1, "@revoked"), host_line(rig, n1), host_line(rig, n2),
                                        host_line(rig, n3)], "revoked")
    results = host_key_results(rig, answers)
    revoked = results["node.host_key", n1.name]
    assert revoked["status"] == "fail" and "REVOKED" in revoked["message"]
    assert revoked["details"]["fingerprint"] == n1.host_key_fingerprint
    assert results["node.ssh", n1.name]["status"] == "skip"
    for node in (n2, n3):
        assert results["node.host_key", node.name]["status"] == "pass"
        assert results["node.ssh", node.name]["status"] == "pass"


def test_cert_authority_lines_are_reported_as_unsupported_never_as_trusted(rig):
    n1, n2, n3 = rig.nodes[:3]
    answers = known_hosts_answers(rig, [host_line(rig, n1, "@cert-authority", pattern="*"), host_line(rig, n2)],
                                  "authority")
    results = host_key_results(rig, answers)
    for node in (n1, n3):
        check = results["node.host_key", node.name]
        assert check["status"] == "fail" and "@cert-authority" in check["message"]
        assert check["details"]["fingerprint"] == node.host_key_fingerprint
    assert results["node.host_key", n2.name]["status"] == "pass"


def test_a_crashed_collector_never_reports_the_host_key_as_trusted():
    from installer.preflight import analyzers
    from installer.preflight.catalogue import CATALOGUE
    from installer.preflight.collectors import NodeFacts, NodeTarget

    target = NodeTarget(name="n1", host="10.0.0.1", port=22, user="ubuntu", role="worker", data_paths=["/var/lib"])
    results = analyzers.Results(set(CATALOGUE))
    facts = NodeFacts(target=target, error="collector error: InvalidHostKey: bad line", error_kind="crashed")
    analyzers.analyze_nodes([facts], results, None, "existing-cluster", None, {}, None)
    by_id = {r.id: r for r in results.items}
    assert by_id["node.host_key"].status == "skip" and "InvalidHostKey" in by_id["node.host_key"].message
    assert by_id["node.ssh"].status == "fail"
