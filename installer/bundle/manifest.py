"""manifest.json: what a bundle holds, and the one streaming pass that proves it is intact.

    {"schema_version": 1, "profile": ..., "digit_devops_commit": ..., "created": ...,
     "files": [{"path", "size", "sha256"}], "images": [{"reference", "digest", "mirror"}], ...}

Every file of the bundle is listed (the blobs of the image layout too), so `verify` re-hashes
everything in one pass and names what is missing or corrupt. A successful verification is
remembered in the state directory with each file's size and modification time, so a `push`
right after a `verify` need not hash again, and any file touched since forces a new pass.
An optional Ed25519 signature over manifest.json sits beside it (manifest.json.sig).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import IO, Any

from installer.bundle.progress import ByteProgress
from installer.files import atomic_write

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
READ_SIZE = 1024 * 1024


class BundleError(Exception):
    """The bundle cannot be used; the message names the file."""


def sha256_file(path: Path, progress: ByteProgress | None = None) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(READ_SIZE)
            if not chunk:
                break
            hasher.update(chunk)
            if progress:
                progress.add(len(chunk))
    return hasher.hexdigest()


def list_files(root: Path) -> list[Path]:
    """Every regular file under root except the manifest, its signature and half-written blobs."""
    skip = {MANIFEST, SIGNATURE}
    return sorted(p for p in root.rglob("*") if p.is_file() and p.relative_to(root).as_posix() not in skip
                  and not p.name.endswith(".partial"))


def _made_by_running_the_bundled_installer(rel: str) -> bool:
    """The virtualenv `installer/install.sh --setup-only` makes inside the bundle (the README's recipe)
    and Python's byte-code caches: expected beside the listed files, never worth a line of their own."""
    return rel.startswith("installer/.venv/") or "/__pycache__/" in f"/{rel}"


def write_manifest(root: Path, header: dict[str, Any], images: list[dict[str, Any]],
                   progress_label: str = "hashing") -> dict[str, Any]:
    files = list_files(root)
    progress = ByteProgress(progress_label, sum(p.stat().st_size for p in files))
    entries = [{"path": p.relative_to(root).as_posix(), "size": p.stat().st_size, "sha256": sha256_file(p, progress)}
               for p in files]
    progress.finish()
    manifest = {"schema_version": SCHEMA_VERSION, **header, "files": entries,
                "images": sorted(images, key=lambda i: i["reference"])}
    atomic_write(root / MANIFEST, json.dumps(manifest, indent=1) + "\n", 0o644)
    return manifest


def read_manifest(root: Path) -> dict[str, Any]:
    path = Path(root) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{path}: missing; {root} is not a bundle made by `install.sh bundle create`") from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("schema_version") != SCHEMA_VERSION:
        raise BundleError(f"{path}: schema_version {manifest.get('schema_version') if isinstance(manifest, dict) else '?'}"
                          f" is not {SCHEMA_VERSION}; this installer cannot read it")
    return manifest


def manifest_digest(root: Path) -> str:
    return hashlib.sha256((Path(root) / MANIFEST).read_bytes()).hexdigest()


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    bytes_checked: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(root: Path, stream: IO[str] | None = None,
           on_update: Callable[[int, int | None], None] | None = None) -> Verification:
    """Re-hash every listed file in one streaming pass; name every missing, resized or corrupt file."""
    root = Path(root)
    manifest = read_manifest(root)
    result = Verification()
    files = manifest.get("files") or []
    progress = ByteProgress("verifying", sum(int(f["size"]) for f in files), stream, on_update)
    for entry in files:
        path = root / entry["path"]
        if not path.is_file():
            result.problems.append(f"{entry['path']}: missing")
            progress.add(int(entry["size"]))
            continue
        size = path.stat().st_size
        if size != int(entry["size"]):
            result.problems.append(f"{entry['path']}: {size} bytes, the manifest says {entry['size']}")
            progress.add(int(entry["size"]))
            continue
        if sha256_file(path, progress) != entry["sha256"]:
            result.problems.append(f"{entry['path']}: content does not match its sha256 (corrupt)")
        result.bytes_checked += size
    listed = {f["path"] for f in files}
    result.extra = [rel for rel in (p.relative_to(root).as_posix() for p in list_files(root))
                    if rel not in listed and not _made_by_running_the_bundled_installer(rel)]
    result.seconds = progress.finish()
    return result


# --- remembering a verification ------------------------------------------------------------

def _stamp_path(state_root: Path, root: Path) -> Path:
    return state_root / "bundles" / f"{manifest_digest(root)}.verified.json"


def _file_marks(root: Path, manifest: dict[str, Any]) -> dict[str, list[int]]:
    marks = {}
    for entry in manifest.get("files") or []:
        try:
            st = os.stat(root / entry["path"])
        except OSError:
            continue
        marks[entry["path"]] = [st.st_size, st.st_mtime_ns]
    return marks


def remember_verified(state_root: Path, root: Path) -> None:
    manifest = read_manifest(root)
    atomic_write(_stamp_path(state_root, root), json.dumps({"root": str(Path(root).resolve()),
                                                            "files": _file_marks(root, manifest)}), 0o600)


def verified_before(state_root: Path, root: Path) -> bool:
    """True when this exact manifest was verified and no listed file changed size or mtime since."""
    try:
        stamp = json.loads(_stamp_path(state_root, root).read_text())
        manifest = read_manifest(root)
    except (OSError, ValueError, BundleError):
        return False
    return stamp.get("files") == _file_marks(root, manifest) and \
        len(stamp.get("files") or {}) == len(manifest.get("files") or [])


# --- signature -----------------------------------------------------------------------------

def sign(root: Path, private_key_pem: bytes) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError("the signing key must be an Ed25519 private key (openssl genpkey -algorithm ed25519)")
    signature = key.sign((Path(root) / MANIFEST).read_bytes())
    atomic_write(Path(root) / SIGNATURE, base64.b64encode(signature).decode() + "\n", 0o644)


def check_signature(root: Path, public_key_pem: bytes) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    path = Path(root) / SIGNATURE
    if not path.is_file():
        raise BundleError(f"{path}: missing; the bundle is not signed")
    try:
        key = load_pem_public_key(public_key_pem)
    except ValueError:
        raise BundleError("the public key is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError("the public key must be an Ed25519 key (the signing key's public half)")
    try:
        key.verify(base64.b64decode(path.read_text()), (Path(root) / MANIFEST).read_bytes())
    except (InvalidSignature, ValueError):
        raise BundleError(f"{path}: the signature does not match manifest.json") from None
