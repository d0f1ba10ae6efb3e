"""`validate` checks on the spot what the jump host alone can check: keys, TLS pair, kubeconfig, variables, hosts, git URLs."""
from __future__ import annotations

import datetime
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from tests.answers.conftest import ROOT, run_cli

PROBLEM = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?:warning: )?(?P<path>[\w.\[\]-]*): (?P<message>.+)$")
ENV = {"DIGIT_DB_PASSWORD": "canary-db-pw", "DIGIT_REGISTRY_PASSWORD": "canary-reg-pw"}


def _openssh_key() -> bytes:
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())


def _tls_pair(fqdn: str = "uat.digit.example.gov.in") -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, fqdn)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(fqdn)]), critical=False)
            .sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def sdc_site(tmp_path, text: str | None = None):
    """The sdc-vms example in a folder of its own, every file it names present and right."""
    (tmp_path / "keys").mkdir()
    (tmp_path / "certs").mkdir()
    for name in ("id_ed25519", "git-sync"):
        (tmp_path / "keys" / name).write_bytes(_openssh_key())
        (tmp_path / "keys" / name).chmod(0o600)
    for name in ("known_hosts", "git_known_hosts"):
        (tmp_path / "keys" / name).write_text("")
    cert, key = _tls_pair()
    (tmp_path / "certs" / "tls.crt").write_bytes(cert)
    (tmp_path / "certs" / "tls.key").write_bytes(key)
    (tmp_path / "certs" / "tls.key").chmod(0o600)
    answers = tmp_path / "answers.yaml"
    answers.write_text(text or (ROOT / "assets" / "examples" / "sdc-vms.yaml").read_text())
    answers.chmod(0o600)
    return answers


def problems(stderr: str) -> dict[str, str]:
    found = {}
    for line in stderr.splitlines():
        match = PROBLEM.match(line)
        if match:
            found[match["path"]] = line
    return found


def test_the_site_with_every_file_right_is_valid(tmp_path):
    result = run_cli("validate", "--strict", str(sdc_site(tmp_path)), env=ENV)
    # the chart folder of the example does not exist on this machine: that warning alone is allowed
    assert set(problems(result.stderr)) <= {"release.charts", "target.rke2.artifacts"}, result.stderr


def test_a_public_key_where_a_private_key_belongs_is_an_error_naming_the_file(tmp_path):
    answers = sdc_site(tmp_path)
    public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    (tmp_path / "keys" / "git-sync").write_bytes(public + b" CANARYCOMMENT\n")
    (tmp_path / "keys" / "id_ed25519").write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
    result = run_cli("validate", str(answers), env=ENV)
    assert result.returncode == 2, result.stdout + result.stderr
    found = problems(result.stderr)
    assert "public key" in found["config_repos.ssh_key"] and str(tmp_path / "keys" / "git-sync") in found["config_repos.ssh_key"]
    assert "cut short" in found["target.ssh.private_key"]
    assert "CANARY" not in result.stderr and "valid (" not in result.stdout


def test_a_tls_key_that_is_not_the_certificates_is_an_error(tmp_path):
    answers = sdc_site(tmp_path)
    _, other_key = _tls_pair()
    (tmp_path / "certs" / "tls.key").write_bytes(other_key)
    result = run_cli("validate", str(answers), env=ENV)
    assert result.returncode == 2
    assert "does not belong to the certificate" in problems(result.stderr)["domain.tls.key"]


def test_an_unset_variable_is_a_warning_and_an_error_with_strict(tmp_path):
    answers = sdc_site(tmp_path)
    env = {"DIGIT_REGISTRY_PASSWORD": "x"}
    result = run_cli("validate", str(answers), env=env)
    line = problems(result.stderr)["database.password"]
    assert "warning: " in line and "DIGIT_DB_PASSWORD is not set" in line
    assert result.returncode == 0
    assert run_cli("validate", "--strict", str(answers), env=env).returncode == 2


def test_dotted_numbers_that_are_no_ipv4_address_are_refused(tmp_path):
    text = (ROOT / "assets" / "examples" / "sdc-vms.yaml").read_text().replace("host: 10.10.0.21,", "host: 10.228.210.300,")
    result = run_cli("validate", str(sdc_site(tmp_path, text)), env=ENV)
    assert result.returncode == 2
    assert "not a valid IPv4 address" in problems(result.stderr)["target.nodes[3].host"]


def test_an_https_url_for_git_sync_is_refused_saying_it_uses_ssh(tmp_path):
    text = (ROOT / "assets" / "examples" / "sdc-vms.yaml").read_text().replace(
        '"git@git.sdc.local:digit/configs.git"', "https://git.sdc.local/digit/configs.git")
    result = run_cli("validate", str(sdc_site(tmp_path, text)), env=ENV)
    assert result.returncode == 2
    line = problems(result.stderr)["config_repos.configs.url"]
    assert "SSH" in line and "deploy key" in line


def test_a_kubeconfig_context_that_is_not_in_it_is_an_error(tmp_path):
    text = (ROOT / "assets" / "examples" / "existing-cluster.yaml").read_text()
    answers = tmp_path / "answers.yaml"
    answers.write_text(text)
    answers.chmod(0o600)
    from installer.answers import load_answers

    loaded = load_answers(answers)
    kubeconfig = loaded.target.kubeconfig
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: lab\ncontexts:\n- name: lab\n  context: {cluster: c, user: u}\n")
    kubeconfig.chmod(0o600)
    result = run_cli("validate", str(answers), env=ENV)
    if loaded.target.context not in (None, "lab"):
        assert result.returncode == 2
        assert "is not in" in problems(result.stderr)["target.context"]
    else:
        assert "target.context" not in problems(result.stderr), result.stderr
        kubeconfig.write_text("apiVersion: v1\nkind: Config\ncontexts:\n- name: other\n  context: {cluster: c, user: u}\n")
        result = run_cli("validate", str(answers), env=ENV)
        assert result.returncode == 2
        assert "current-context" in problems(result.stderr)["target.context"]
