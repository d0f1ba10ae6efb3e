"""Preflight's local.private_keys: every private key the answers reference is judged, each bad one a failing row
named by its answers key; offline (only the jump host's side runs)."""
from __future__ import annotations

import json
import os
import subprocess

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.hardening.test_local_checks import SSH_KEY, answers_for, cli, local_report


def key_rows(tmp_path, answers, **env: str) -> tuple[dict[str, dict], subprocess.CompletedProcess]:
    proc = cli("preflight", "--answers", str(answers), "--only", "local.private_keys", "--json", cwd=tmp_path, **env)
    assert proc.returncode in (0, 1), proc.stderr
    return {row["target"]: row for row in json.loads(proc.stdout)["checks"] if row["id"] == "local.private_keys"}, proc


def test_every_referenced_key_must_parse_as_a_private_key(tmp_path):
    answers = answers_for(tmp_path, "digit-sample")
    [good] = local_report(tmp_path, answers)["local.private_keys"]
    assert good["status"] == "pass" and "2 private key(s) parse" in good["measured"]

    answers.write_text(answers.read_text().replace("ssh_key: {env: DIGIT_GIT_SSH_KEY}", "ssh_key: {file: deploy_key.pub}"))
    public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    key = tmp_path / "deploy_key.pub"
    key.write_text(public + " canary-comment-5d1e\n")
    os.chmod(key, 0o600)
    rows, proc = key_rows(tmp_path, answers, DIGIT_SSH_KEY=SSH_KEY.splitlines()[0])
    assert proc.returncode == 1
    assert set(rows) == {"config_repos.ssh_key", "target.ssh.private_key"}
    assert all(row["status"] == "fail" for row in rows.values())
    assert "public key" in rows["config_repos.ssh_key"]["measured"] and str(key) in rows["config_repos.ssh_key"]["measured"]
    assert "DIGIT_SSH_KEY" in rows["target.ssh.private_key"]["measured"] and "cut short" in rows["target.ssh.private_key"]["measured"]
    text = proc.stdout + proc.stderr
    assert "canary-comment-5d1e" not in text and public.split()[1] not in text


def test_a_key_that_cannot_be_read_fails_too(tmp_path):
    answers = answers_for(tmp_path, "digit-sample")
    answers.write_text(answers.read_text().replace("ssh_key: {env: DIGIT_GIT_SSH_KEY}", "ssh_key: {file: missing_key}"))
    rows = {row["target"]: row for row in local_report(tmp_path, answers)["local.private_keys"]}
    assert rows["config_repos.ssh_key"]["status"] == "fail" and "does not exist" in rows["config_repos.ssh_key"]["measured"]
