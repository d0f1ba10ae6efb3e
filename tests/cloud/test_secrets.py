"""Canary cloud credentials and database password: through Terraform's environment only, never anywhere readable."""
from __future__ import annotations

import os
import subprocess
import tarfile
import threading
from pathlib import Path

from tests.cloud.conftest import (CANARY_AWS_KEY_ID, CANARY_AWS_SECRET, CANARY_DB_PASSWORD, REPO, CloudInstall)

CANARIES = (CANARY_AWS_SECRET.encode(), CANARY_AWS_KEY_ID.encode(), CANARY_DB_PASSWORD.encode())


class ArgvWatch:
    """Reads every process's /proc/PID/cmdline while a run goes on: Terraform's argv must never hold a canary."""

    def __init__(self) -> None:
        self.terraform_argvs: set[tuple[str, ...]] = set()
        self.leaks: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ArgvWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    raw = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                argv = tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)
                if argv and argv[0].endswith("terraform"):
                    self.terraform_argvs.add(argv)
                if any(canary in raw for canary in CANARIES):
                    self.leaks.append(" ".join(argv))
            self._stop.wait(0.01)


def holders(root: Path) -> dict[Path, int]:
    """Every file under root that holds a canary, with its mode."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(canary in data for canary in CANARIES):
                found[path] = path.stat().st_mode & 0o777
    return found


def test_canaries_stay_out_of_argv_faces_logs_journal_readable_files_and_the_support_bundle(
        cloud_install: CloudInstall, tmp_path: Path):
    outputs = []
    with ArgvWatch() as watch:
        first = cloud_install.run(output="plain")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    outputs.append(first.stdout + first.stderr)
    commands = {argv[1] for argv in watch.terraform_argvs if len(argv) > 1}
    assert {"init", "plan", "apply", "output"} <= commands, "the watch saw Terraform run"
    assert watch.leaks == []
    for face in ("json", "rich"):  # a rerun on each other face; provision plans again and finds nothing to do
        rerun = cloud_install.run(output=face)
        assert rerun.returncode == 0, rerun.stdout[-2000:]
        outputs.append(rerun.stdout + rerun.stderr)
    for text in outputs:
        for canary in CANARIES:
            assert canary.decode() not in text

    # The stand-in received the credentials (through the environment) and the database password works:
    import hashlib

    assert (cloud_install.cloud / "credentials.sha256").read_text() == hashlib.sha256(
        CANARY_AWS_SECRET.encode()).hexdigest()

    held = holders(cloud_install.state)
    assert held, "Terraform's state holds the password (by design), so the search is not vacuous"
    assert all(mode == 0o600 for mode in held.values()), {str(p): oct(m) for p, m in held.items()}
    for path in held:
        assert path.name in ("terraform.tfstate", "terraform.tfstate.backup", "generated-secrets.json") \
            or path.parent.name == "terraform", path
    journal = (cloud_install.state / "journal.json").read_bytes()
    logs = b"".join(p.read_bytes() for p in (cloud_install.state / "logs").rglob("*") if p.is_file())
    terraform_logs = b"".join(p.read_bytes() for p in (cloud_install.state / "terraform" / "logs").iterdir())
    for canary in CANARIES:
        assert canary not in journal and canary not in logs and canary not in terraform_logs

    bundle = tmp_path / "bundle.tar.gz"
    made = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "installer", "support-bundle", "--answers",
                           str(cloud_install.answers_path), "--state-dir", str(cloud_install.state), "-o", str(bundle)],
                          cwd=REPO, env=cloud_install.env, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stdout + made.stderr
    with tarfile.open(bundle) as archive:
        members = [m for m in archive.getmembers() if m.isfile()]
        assert members
        for member in members:
            data = archive.extractfile(member).read()
            for canary in CANARIES:
                assert canary not in data, member.name
    assert oct(os.stat(cloud_install.state / "kubeconfig").st_mode & 0o777) == "0o600"
