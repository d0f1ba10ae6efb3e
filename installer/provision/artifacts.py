"""RKE2's air-gap artifacts as the operator brings them, verified on the jump host before anything is copied.

A folder holds rke2.linux-amd64.tar.gz, one or more images archives (rke2-images*.linux-amd64.tar.zst or
.tar.gz), sha256sum-amd64.txt and install.sh. The tarball and every images archive must be listed in the
sums file and match it; install.sh is not in RKE2's sums file, so its digest is only recorded.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

TARBALL = "rke2.linux-amd64.tar.gz"
SUMS = "sha256sum-amd64.txt"
INSTALLER = "install.sh"
_IMAGES = re.compile(r"^rke2-images.*\.linux-amd64\.tar\.(zst|gz)$")


class ArtifactError(Exception):
    """The folder is missing a file, or a file does not match its sum."""


@dataclass(frozen=True)
class Artifact:
    name: str
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class Bundle:
    folder: Path
    files: tuple[Artifact, ...]  # what is copied to every node, install.sh and the sums file included

    @property
    def sums(self) -> Artifact:
        return next(a for a in self.files if a.name == SUMS)

    @property
    def release_id(self) -> str:
        """Identifies the RKE2 release: the digest of its sums file, which names every artifact's digest."""
        return self.sums.sha256


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_sums(text: str) -> dict[str, str]:
    sums = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def verify(folder: Path) -> Bundle:
    """Every needed file present and matching sha256sum-amd64.txt; raises ArtifactError naming the file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(f"target.rke2.artifacts: {folder} is not a folder")
    try:
        sums = parse_sums((folder / SUMS).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ArtifactError(f"{folder / SUMS}: {exc.strerror or exc}") from None
    images = sorted(p.name for p in folder.iterdir() if _IMAGES.match(p.name))
    missing = [name for name in (TARBALL, INSTALLER) if not (folder / name).is_file()]
    if not images:
        missing.append("rke2-images.linux-amd64.tar.zst (or .tar.gz)")
    if missing:
        raise ArtifactError(f"{folder}: missing {', '.join(missing)} (RKE2's air-gap release files)")
    files = []
    for name in (TARBALL, *images):
        if name not in sums:
            raise ArtifactError(f"{folder / name} is not listed in {SUMS}")
        actual = sha256_of(folder / name)
        if actual != sums[name]:
            raise ArtifactError(f"{folder / name}: sha256 {actual} does not match {sums[name]} in {SUMS} "
                                "(a damaged or replaced file)")
        files.append(Artifact(name, folder / name, actual, (folder / name).stat().st_size))
    for name in (SUMS, INSTALLER):
        files.append(Artifact(name, folder / name, sha256_of(folder / name), (folder / name).stat().st_size))
    return Bundle(folder, tuple(files))
