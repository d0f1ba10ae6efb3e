"""Stand-in for RKE2's install.sh (tarball method), with its air-gap contract.

    INSTALL_RKE2_ARTIFACT_PATH=DIR INSTALL_RKE2_TYPE=server|agent sh install.sh

Checks the tarball (and each images archive) against DIR/sha256sum-amd64.txt, copies the images to
/var/lib/rancher/rke2/agent/images/, unpacks the tarball under INSTALL_RKE2_TAR_PREFIX (/usr/local),
runs `systemctl daemon-reload` and starts nothing. Exit 1 with a message on any mismatch.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from tests.rig.standin.common import record

TARBALL = "rke2.linux-amd64.tar.gz"
SUMS = "sha256sum-amd64.txt"
IMAGES_DIR = Path("/var/lib/rancher/rke2/agent/images")


def fatal(message: str) -> int:
    print(f"[ERROR]  {message}", file=sys.stderr)
    record("install.sh", "failed", message=message)
    return 1


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv: list[str]) -> int:
    record("install.sh", "called", argv=argv, env=dict(os.environ))
    if os.geteuid() != 0:
        return fatal("You need to be root to perform this install")
    artifacts = os.environ.get("INSTALL_RKE2_ARTIFACT_PATH")
    kind = os.environ.get("INSTALL_RKE2_TYPE", "server")
    prefix = Path(os.environ.get("INSTALL_RKE2_TAR_PREFIX", "/usr/local"))
    if kind not in ("server", "agent"):
        return fatal(f"Invalid INSTALL_RKE2_TYPE {kind!r}: server or agent")
    if not artifacts:
        return fatal("this stand-in installs air-gapped only: set INSTALL_RKE2_ARTIFACT_PATH")
    folder = Path(artifacts)
    sums: dict[str, str] = {}
    try:
        for line in (folder / SUMS).read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                sums[parts[1].lstrip("*")] = parts[0]
    except OSError as exc:
        return fatal(f"cannot read {folder / SUMS}: {exc.strerror}")
    tarball = folder / TARBALL
    if not tarball.is_file():
        return fatal(f"{tarball} not found")
    expected = sums.get(TARBALL)
    if expected is None:
        return fatal(f"{TARBALL} is not listed in {SUMS}")
    print(f"[INFO]  verifying tarball {tarball}")
    if sha256(tarball) != expected:
        return fatal(f"download sha256 does not match {expected}, got {sha256(tarball)}")
    images = sorted(p for p in folder.iterdir() if p.name.startswith("rke2-images") and ".tar" in p.name)
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    for image in images:
        if image.name in sums and sha256(image) != sums[image.name]:
            return fatal(f"{image.name}: sha256 does not match {sums[image.name]}")
        print(f"[INFO]  installing airgap image from {image}")
        shutil.copyfile(image, IMAGES_DIR / image.name)
    print(f"[INFO]  unpacking tarball file to {prefix}")
    prefix.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(prefix, filter="data")
    for script in ("bin/rke2", "bin/rke2-killall.sh", "bin/rke2-uninstall.sh"):
        if (prefix / script).exists():
            os.chmod(prefix / script, 0o755)
    done = subprocess.run(["systemctl", "daemon-reload"], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        return fatal(f"systemctl daemon-reload: {done.stderr.strip()}")
    record("install.sh", "installed", type=kind, prefix=str(prefix), images=[p.name for p in images])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
