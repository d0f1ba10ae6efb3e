"""Cluster, database and domain checks failing for real reasons on the rig; provided TLS certificates."""
from __future__ import annotations

import datetime
import json
import socket

import pytest

from installer.adapters.kube import api_client
from tests.preflight.helpers import edited_answers, problems
from tests.preflight.helpers import run_inprocess


def _core(rig):
    from kubernetes import client

    return client.CoreV1Api(api_client(rig.kubeconfig_path, timeout=5))


def test_permissions_storageclass_and_not_ready_nodes(fresh_rig) -> None:
    from kubernetes import client

    rig = fresh_rig(nodes=2, rollout_delay=0)
    api = api_client(rig.kubeconfig_path, timeout=5)
    rig.deny("create secrets", "create roles")
    client.StorageV1Api(api).delete_storage_class("local-path", _preload_content=False)
    client.CoreV1Api(api).patch_node_status("n2", {"status": {"conditions": [
        {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "PLEG is not healthy"}]}},
        _preload_content=False)
    code, report, _, _ = run_inprocess(rig, "--only", "cluster")
    assert code == 1
    assert problems(report) == {("k8s.permissions", "digit-rig"), ("k8s.default_storageclass", "digit-rig"),
                                ("k8s.nodes_ready", "digit-rig")}
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["k8s.permissions"]["measured"] == "denied: create secrets, create roles"
    assert "n2 (KubeletNotReady)" in checks["k8s.nodes_ready"]["measured"]
    assert "no default" in checks["k8s.default_storageclass"]["measured"]
    assert checks["k8s.capacity"]["status"] == "pass"
    named = edited_answers(rig, "answers-sc.yaml", lambda d: d["target"].__setitem__("storage_class", "fast-ssd"))
    _, report, _, _ = run_inprocess(rig, "--only", "k8s.default_storageclass", answers=named)
    assert report["checks"][0]["status"] == "fail" and "fast-ssd missing" in report["checks"][0]["measured"]


def test_old_kubernetes_version_fails(fresh_rig) -> None:
    rig = fresh_rig(nodes=1, rollout_delay=0, server_version="v1.22.17")
    code, report, _, _ = run_inprocess(rig, "--only", "k8s.version,k8s.api")
    assert code == 1
    assert problems(report) == {("k8s.version", "digit-rig")}
    assert report["checks"][-1]["measured"] == "v1.22.17"


def test_unreachable_api_fails_k8s_api_and_skips_the_rest(rig, tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(rig.kubeconfig_path.read_text().replace(rig.api_url, f"http://127.0.0.1:{closed_port}"))

    def point_elsewhere(data) -> None:
        data["target"]["kubeconfig"] = str(kubeconfig)

    answers = edited_answers(rig, "answers-noapi.yaml", point_elsewhere)
    code, report, _, seconds = run_inprocess(rig, "--only", "cluster", answers=answers)
    assert code == 1 and seconds < 30
    assert problems(report) == {("k8s.api", "digit-rig")}
    assert {c["status"] for c in report["checks"] if c["id"] != "k8s.api"} == {"skip"}


def test_foreign_install_warns_and_own_install_passes(rig) -> None:
    core = _core(rig)
    core.create_namespace({"metadata": {"name": "egov"}})
    try:
        code, report, _, _ = run_inprocess(rig, "--only", "k8s.existing_install")
        assert code == 0
        assert problems(report, "warn") == {("k8s.existing_install", "digit-rig")}
        assert "egov" in report["checks"][0]["measured"]
        core.patch_namespace("egov", {"metadata": {"labels": {"app.kubernetes.io/managed-by": "digit-installer"}}})
        code, report, _, _ = run_inprocess(rig, "--only", "k8s.existing_install")
        assert code == 0 and report["checks"][0]["status"] == "pass"
        assert "rerun" in report["checks"][0]["measured"]
    finally:
        core.delete_namespace("egov")


def test_database_missing_without_createdb_and_unreachable(rig) -> None:
    import psycopg

    with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS plainuser")
        admin.execute("CREATE ROLE plainuser LOGIN NOCREATEDB PASSWORD 'plain-pass-123'")
    try:
        answers = edited_answers(rig, "answers-plain.yaml",
                                 lambda d: d["database"].update({"username": "plainuser", "name": "nodb"}))
        code, report, _, _ = run_inprocess(rig, "--only", "database", answers=answers,
                                      env={"DIGIT_DB_PASSWORD": "plain-pass-123"})
        assert code == 1
        assert problems(report) == {("db.database", f"127.0.0.1:{rig.pg_port}")}
        assert "lacks CREATEDB" in report["checks"][-1]["measured"]
    finally:
        with psycopg.connect(rig.pg_dsn_admin, autocommit=True) as admin:
            admin.execute("DROP ROLE IF EXISTS plainuser")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    answers = edited_answers(rig, "answers-closed.yaml", lambda d: d["database"].__setitem__("port", closed_port))
    code, report, _, _ = run_inprocess(rig, "--only", "database", answers=answers)
    assert code == 1
    assert problems(report) == {("db.reachable", f"127.0.0.1:{closed_port}")}


def _certificate(tmp_path, name: str, days: int, key=None, sign_key=None):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(sign_key or key, hashes.SHA256()))
    cert_path = tmp_path / f"{name}-{days}.crt"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = tmp_path / f"{name}-{days}.key"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.mark.parametrize("case, failing", [
    ("good", set()),
    ("wrong-name", {"domain.cert_name"}),
    ("expiring", {"domain.cert_expiry"}),
    ("other-key", {"domain.cert_key"}),
])
def test_provided_certificate(rig, tmp_path, case, failing) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    fqdn = rig.fqdn
    if case == "good":
        cert, key = _certificate(tmp_path, fqdn, 365)
    elif case == "wrong-name":
        cert, key = _certificate(tmp_path, "other.example.org", 365)
    elif case == "expiring":
        cert, key = _certificate(tmp_path, fqdn, 10)
    else:
        cert, _ = _certificate(tmp_path, fqdn, 365)
        _, key = _certificate(tmp_path, "unrelated", 365, key=ec.generate_private_key(ec.SECP256R1()))

    def provided(data) -> None:
        data["domain"]["tls"] = {"mode": "provided", "cert": str(cert), "key": {"file": str(key)}}

    answers = edited_answers(rig, f"answers-tls-{case}.yaml", provided)
    code, report, _, _ = run_inprocess(rig, "--only", "domain", answers=answers)
    assert {cid for cid, _ in problems(report)} == failing
    assert code == (1 if failing else 0)
    assert {c["id"] for c in report["checks"]} == {"domain.resolves", "domain.cert_name", "domain.cert_key",
                                                   "domain.cert_expiry"}


def test_domain_must_point_at_the_load_balancer_on_sdc_vms(rig) -> None:
    def sdc_vms(load_balancer: str):
        def edit(data) -> None:
            target = data["target"]
            for field in ("kubeconfig", "context"):
                target.pop(field)
            target["kind"] = "sdc-vms"
            target["load_balancer"] = load_balancer
            data["sizing"]["profile"] = "sdc-dev"
        return edit

    lb = rig.nodes[0].host
    right = edited_answers(rig, "answers-lb-right.yaml", sdc_vms(lb))
    code, report, _, _ = run_inprocess(rig, "--only", "domain.resolves", answers=right)
    assert code == 0 and report["checks"][0]["required"] == f"resolves to the load balancer {lb}"
    wrong = edited_answers(rig, "answers-lb-wrong.yaml", sdc_vms(rig.nodes[1].host))
    code, report, _, _ = run_inprocess(rig, "--only", "domain.resolves", answers=wrong)
    assert code == 1 and report["checks"][0]["measured"] == lb
    assert rig.nodes[1].host in report["checks"][0]["remediation"]


def test_api_tls_is_verified_as_the_kubeconfig_says(fresh_rig) -> None:
    rig = fresh_rig(nodes=1, rollout_delay=0, kube_tls=True)
    assert rig.api_url.startswith("https://")
    code, report, _, _ = run_inprocess(rig, "--only", "k8s.api")
    assert code == 0, report
    config = json.loads(rig.kubeconfig_path.read_text())
    cluster = config["clusters"][0]["cluster"]
    del cluster["certificate-authority-data"]
    untrusting = rig.dir / "kubeconfig-no-ca"
    untrusting.write_text(json.dumps(config))
    answers = edited_answers(rig, "answers-no-ca.yaml", lambda d: d["target"].__setitem__("kubeconfig", str(untrusting)))
    code, report, _, _ = run_inprocess(rig, "--only", "k8s.api", answers=answers)
    assert code == 1 and "TLS certificate not trusted" in report["checks"][0]["measured"]
    cluster["insecure-skip-tls-verify"] = True
    skipping = rig.dir / "kubeconfig-skip-verify"
    skipping.write_text(json.dumps(config))
    answers = edited_answers(rig, "answers-skip.yaml", lambda d: d["target"].__setitem__("kubeconfig", str(skipping)))
    code, report, _, _ = run_inprocess(rig, "--only", "k8s.api", answers=answers)
    assert code == 0, report
