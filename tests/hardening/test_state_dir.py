"""The state directory cannot be planted or redirected by another user of the jump host.

Runs the real headless command (the demo pipeline of tests/engine) against state
directories prepared the way a hostile local user would. The tests run as root, so
"another user" is uid 65534 (nobody).
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tarfile

import pytest

from installer.secretstore import SecretStore
from installer.state import UnsafeStateError
from tests.engine.test_headless import ROOT, Site

OTHER_UID = 65534
PLANTED = "planted-salt-0b1e"


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path / "site")


def plant_secrets(site: Site, uid: int | None = None, mode: int = 0o644) -> None:
    site.state.mkdir(parents=True, exist_ok=True)
    path = site.state / "generated-secrets.json"
    path.write_text(json.dumps({"version": 1, "values": {"credentials.enc_master_salt": PLANTED}}))
    os.chmod(path, mode)
    if uid is not None:
        os.chown(path, uid, uid)


def test_state_dir_owned_by_another_user_is_refused(site):
    site.state.mkdir(parents=True)
    os.chown(site.state, OTHER_UID, OTHER_UID)
    proc = site.run()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"state directory {site.state} is owned by uid {OTHER_UID}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (site.state / "journal.json").exists()


def test_state_dir_writable_by_others_is_refused(site):
    site.state.mkdir(parents=True)
    os.chmod(site.state, 0o777)
    proc = site.run()
    assert proc.returncode == 2
    assert "is writable by others (mode 0777)" in proc.stderr


def test_planted_generated_secrets_of_another_user_are_refused(site):
    plant_secrets(site, uid=OTHER_UID)
    with pytest.raises(UnsafeStateError, match="owned by uid 65534"):
        SecretStore(site.state).load()


def test_generated_secrets_file_made_0600_on_every_read(site):
    """A store restored from a backup with mode 0644 is read and made private again."""
    plant_secrets(site, mode=0o644)
    assert SecretStore(site.state).load()["credentials.enc_master_salt"] == PLANTED
    assert stat.S_IMODE((site.state / "generated-secrets.json").stat().st_mode) == 0o600


def test_generated_secrets_symlink_is_not_followed(site, tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"version": 1, "values": {"credentials.enc_master_salt": PLANTED}}))
    site.state.mkdir(parents=True)
    (site.state / "generated-secrets.json").symlink_to(elsewhere)
    with pytest.raises(UnsafeStateError, match="symlink"):
        SecretStore(site.state).load()


def test_lock_symlink_target_is_not_truncated(site, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    site.state.mkdir(parents=True)
    (site.state / "install.lock").symlink_to(victim)
    proc = site.run()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "install.lock is a symlink" in proc.stderr
    assert victim.read_text() == "precious\n"


def test_logs_symlink_target_is_neither_chmodded_nor_written(site, tmp_path):
    victim = tmp_path / "victim-dir"
    victim.mkdir(mode=0o755)
    os.chmod(victim, 0o755)
    site.state.mkdir(parents=True)
    (site.state / "logs").symlink_to(victim)
    proc = site.run()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "logs is not a directory" in proc.stderr
    assert stat.S_IMODE(victim.stat().st_mode) == 0o755
    assert list(victim.iterdir()) == []


def test_support_bundle_packs_no_symlink_targets_and_no_foreign_files(site, tmp_path):
    proc = site.run()
    assert proc.returncode == 0, proc.stderr
    secret = tmp_path / "shadow"
    secret.write_text("root:canary-shadow-9c1d:19000:0:99999:7:::\n")
    (site.state / "logs" / "zz-evil.log").symlink_to(secret)
    (site.state / "preflight-evil.json").symlink_to(secret)
    foreign = site.state / "logs" / "zz-foreign.log"
    foreign.write_text("canary-foreign-51aa\n")
    os.chown(foreign, OTHER_UID, OTHER_UID)
    out = tmp_path / "bundle.tar.gz"
    bundle = subprocess.run([sys.executable, "-m", "installer", "support-bundle", "--state-dir", str(site.state),
                             "-o", str(out), "--no-cluster"], cwd=ROOT, env=site.env(),
                            capture_output=True, text=True, timeout=60)
    assert bundle.returncode == 0, bundle.stderr
    with tarfile.open(out) as tar:
        names = tar.getnames()
        body = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert any(name.endswith(".log") for name in names)
    assert not any("evil" in name or "foreign" in name for name in names), names
    assert b"canary-shadow-9c1d" not in body and b"canary-foreign-51aa" not in body
