"""The preflight report at 80 columns: what failed and what to do first, a table that fits, no debris."""
from __future__ import annotations

import io
import json
import time

from installer.preflight import analyzers
from installer.preflight.catalogue import CATALOGUE, CERT_MIN_DAYS
from installer.preflight.collectors import DomainFacts, NodeFacts, NodeTarget
from installer.preflight.model import CheckResult, Report
from installer.preflight.report import render_table, to_json


def sample_report() -> Report:
    results = [CheckResult(id="node.cpu", status="pass", target=f"node-{i}", measured="8", required=">= 4")
               for i in range(20)]
    results.append(CheckResult(id="node.swap", status="fail", target="node-3", measured="2.0 GiB", required="off",
                               message="swap is on: measured 2.0 GiB, required off",
                               remediation="run swapoff -a on node-3 and remove the swap line from /etc/fstab, "
                                           "so the kubelet starts"))
    results.append(CheckResult(id="db.auth", status="fail", target="10.0.0.5:5432", measured="refused",
                               required="login", message="password authentication failed for user egov",
                               remediation="check database.password and that pg_hba.conf allows this host"))
    results.append(CheckResult(id="node.memory", status="skip", target="node-9", measured="-", required="-",
                               message="not checked: no SSH handshake"))
    return Report(results, duration_s=1.5)


def test_at_80_columns_failures_lead_with_remediation_on_its_own_line_and_nothing_is_wider():
    out = io.StringIO()
    render_table(sample_report(), out, color=False, width=80)
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert lines[0].startswith("preflight FAILED: 2 failed, 0 warnings, 20 passed, 1 not checked")
    head = "\n".join(lines[:12])
    assert "✗ FAIL node.swap (node-3): swap is on" in head and "✗ FAIL db.auth (10.0.0.5:5432)" in head
    remediation = next(i for i, line in enumerate(lines) if line.startswith("what to do: run swapoff"))
    assert lines[remediation - 1].startswith("✗ FAIL node.swap")  # its own line, right under its failure
    assert head.index("node.swap") < head.index("db.auth") and "node.cpu" not in head
    assert lines[-1] == lines[0]  # the verdict is the last line too


def test_a_skipped_check_carries_no_remediation():
    results = analyzers.Results(set(CATALOGUE))
    results.skip("node.memory", "node-9", "not checked: no SSH handshake")
    assert results.items[0].status == "skip" and results.items[0].remediation == ""


def test_json_report_is_unchanged_by_the_terminal_layout():
    report = sample_report()
    data = json.loads(to_json(report))
    assert [c["id"] for c in data["checks"]] == [r.id for r in report.results]
    assert data["summary"] == {"pass": 20, "warn": 0, "fail": 2, "skip": 1}


def test_a_certificate_valid_for_30_more_days_passes_a_30_day_limit():
    assert CERT_MIN_DAYS == 30
    now = time.time()
    for days, status in ((30 - 1 / 86400, "pass"), (30.0, "pass"), (29.0, "fail")):
        facts = DomainFacts(fqdn="digit.example.org", addresses=["10.0.0.1"], tls_mode="provided",
                            cert_names=["digit.example.org"], cert_not_after=now + days * 86400, key_matches=True)
        results = analyzers.Results(set(CATALOGUE))
        analyzers.analyze_domain(facts, results, now=now)
        expiry = next(r for r in results.items if r.id == "domain.cert_expiry")
        assert expiry.status == status, (days, expiry)
        assert expiry.measured == f"expires in {round(days)} days"


def test_a_changed_host_key_names_the_old_and_the_new_fingerprint():
    target = NodeTarget(name="n1", host="10.0.0.7", port=22, user="digit", role="worker", data_paths=[])
    facts = NodeFacts(target=target, error="host key CHANGED", error_kind="host_key_changed",
                      fingerprint="SHA256:NEWnewNEW", expected_fingerprint="SHA256:OLDoldOLD")
    results = analyzers.Results(set(CATALOGUE))
    analyzers.analyze_nodes([facts], results, None, "existing-cluster", None, {}, None)
    check = next(r for r in results.items if r.id == "node.host_key")
    assert check.status == "fail"
    assert "SHA256:OLDoldOLD" in check.message and "SHA256:NEWnewNEW" in check.message
    assert check.message.count("SHA256:NEWnewNEW") == 1
    assert check.measured == "SHA256:NEWnewNEW" and check.required == "SHA256:OLDoldOLD"


def test_a_long_path_target_keeps_its_end_on_one_line_at_80_columns():
    results = [CheckResult(id="local.state_disk", status="pass", target="/root/.local/state/digit-installer/rig-0c6bde",
                           measured="76944 MB free", required=">= 1 GB"),
               CheckResult(id="release.charts", status="pass", target="/tmp/fresh/tests/fixtures/charts",
                           measured="every chart present", required="-")]
    out = io.StringIO()
    render_table(Report(results, duration_s=0.1), out, color=False, width=80)
    rows = [line for line in out.getvalue().splitlines() if line.startswith("PASS")]
    assert len(rows) == 2  # one line each: nothing folded mid-word onto a second line
    assert "…/rig-0c6bde" in rows[0] and "…/charts" in rows[1], rows
    assert all(len(line) <= 80 for line in out.getvalue().splitlines())


def test_an_unreachable_ssh_port_is_first_suspected_to_be_the_wrong_port():
    """A refused SSH connection on a mistyped port (2222 for 22) told the operator to start sshd and open the
    firewall, never to check the port the answers give."""
    text = CATALOGUE["node.ssh"].remediation.format(port=2222, user="digit")
    assert text.startswith("Connection refused or timed out: check that 2222 is the port sshd listens on "
                           "(target.ssh.port")
    assert "Key refused: put the public half of target.ssh.private_key in ~digit/.ssh/authorized_keys." in text
