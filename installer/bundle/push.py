"""`bundle push`: every image of a verified bundle into the site's mirror, resumable by digest.

Order per image, as the distribution spec wants it: blobs first (a blob the mirror has is
skipped after one HEAD; a blob pushed to another repository in this run is mounted, not sent
again), then manifests by digest (an index after its platform manifests), the tag last, so a
tag never points at something incomplete. Images go in parallel, at most `concurrency` at a time.

Resuming: the upload URL of every blob in flight is kept in the state directory after each
chunk the mirror acknowledged. A rerun asks the mirror how much it holds (GET on that URL,
its Range) and sends only the rest. The CNCF registry (2.8) forgets an upload whose last chunk
was cut off half-way (its `_state` offset no longer matches); such a blob starts again, and
the run says so.
"""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

from installer.adapters.registry import CHUNK_SIZE, Endpoint, HttpRegistry, RegistryError, UploadProgress
from installer.bundle.layout import Descriptor, Layout
from installer.bundle.manifest import BundleError, read_manifest
from installer.bundle.progress import ByteProgress
from installer.files import atomic_write

DEFAULT_CONCURRENCY = 4


@dataclass
class PushResult:
    images: int = 0
    bytes_sent: int = 0
    blobs_skipped: int = 0
    blobs_mounted: int = 0
    blobs_uploaded: int = 0
    blobs_resumed: int = 0
    restarted: list[str] = field(default_factory=list)
    seconds: float = 0.0


def mirror_endpoint(answers: Any, timeout: float = 60.0) -> tuple[Endpoint, str]:
    """The mirror's endpoint and repository prefix from the answers' registry section."""
    registry = answers.registry
    if registry is None:
        raise BundleError("registry: the answers name no mirror (registry.mirror) to push to")
    password = answers.secret(registry.password) if registry.password is not None else None
    if password:
        from installer import redact

        redact.register(password)
    return Endpoint.parse(registry.mirror, username=registry.username, password=password,
                          ca_file=Path(registry.ca_cert) if registry.ca_cert else None,
                          insecure=registry.insecure, timeout=timeout)


class UploadJournal:
    """Upload URLs of blobs in flight, per mirror repository and digest (no credentials in them)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._data: dict[str, str] = json.loads(path.read_text())
        except (OSError, ValueError):
            self._data = {}

    def get(self, repo: str, digest: str) -> str | None:
        with self._lock:
            return self._data.get(f"{repo}@{digest}")

    def put(self, repo: str, digest: str, location: str | None) -> None:
        with self._lock:
            if location is None:
                self._data.pop(f"{repo}@{digest}", None)
            else:
                self._data[f"{repo}@{digest}"] = location
            atomic_write(self.path, json.dumps(self._data, indent=1), 0o600)


class Pusher:
    def __init__(self, bundle: Path, registry: HttpRegistry, prefix: str, journal: UploadJournal,
                 progress: ByteProgress, say: Callable[[str], None], chunk_size: int = CHUNK_SIZE) -> None:
        self.chunk_size = chunk_size
        self.layout = Layout(Path(bundle) / "images")
        self.registry, self.prefix, self.journal = registry, prefix.strip("/"), journal
        self.progress, self.say = progress, say
        self.result = PushResult()
        self._lock = threading.Lock()
        self._digest_locks: dict[str, threading.Lock] = {}
        self._holders: dict[str, str] = {}   # digest -> a repository of the mirror known to hold it

    def repo(self, mirror_path: str) -> str:
        return f"{self.prefix}/{mirror_path}" if self.prefix else mirror_path

    def push_image(self, entry: Descriptor, mirror: str) -> None:
        path, _, tag = mirror.rpartition(":")
        repo = self.repo(path)
        self._push_manifest(repo, entry)
        if self.registry.manifest_digest(repo, tag) != entry.digest:
            self.registry.put_manifest(repo, tag, entry.media_type, self.layout.read_blob(entry.digest))
        with self._lock:
            self.result.images += 1

    def _push_manifest(self, repo: str, manifest: Descriptor) -> None:
        for child in self.layout.children(manifest):
            if _is_manifest(child):
                self._push_manifest(repo, child)
            else:
                self._push_blob(repo, child)
        if self.registry.manifest_digest(repo, manifest.digest) != manifest.digest:
            self.registry.put_manifest(repo, manifest.digest, manifest.media_type, self.layout.read_blob(manifest.digest))

    def _push_blob(self, repo: str, blob: Descriptor) -> None:
        with self._lock:
            lock = self._digest_locks.setdefault(blob.digest, threading.Lock())
        with lock:
            if self.registry.blob_size(repo, blob.digest) is not None:
                self._count("blobs_skipped")
                self.progress.add(blob.size)
                self._holders.setdefault(blob.digest, repo)
                return
            holder = self._holders.get(blob.digest)
            if holder and holder != repo and self.registry.mount_blob(repo, blob.digest, holder):
                self._count("blobs_mounted")
                self.progress.add(blob.size)
                return
            saved = self.journal.get(repo, blob.digest)
            resume = UploadProgress(saved, 0) if saved else None
            counted = 0
            # A blob of one chunk has nothing to continue from: only longer uploads are journaled
            # (each journal write is an fsync, which would otherwise dominate many small blobs).
            journaled = blob.size > self.chunk_size

            def on_progress(state: UploadProgress, sent: int) -> None:
                nonlocal counted
                if journaled:
                    self.journal.put(repo, blob.digest, state.location)
                self.progress.add(sent - counted)
                counted = sent

            if resume is not None:
                try:
                    held = self.registry.upload_status(resume.location).offset
                    self.say(f"continuing {blob.digest[:19]} in {repo} at {held} of {blob.size} bytes")
                    self.progress.add(held)
                    self._count("blobs_resumed")
                except RegistryError:
                    self.say(f"the mirror dropped the interrupted upload of {blob.digest[:19]} in {repo} "
                             "(its last chunk was cut off); sending it again")
                    with self._lock:
                        self.result.restarted.append(blob.digest)
                    resume = None
            sent = self.registry.upload_blob(repo, blob.digest, blob.size, lambda offset: self.layout.open_blob(
                blob.digest, offset), resume=resume, on_progress=on_progress, chunk_size=self.chunk_size)
            if journaled or saved:
                self.journal.put(repo, blob.digest, None)
            with self._lock:
                self.result.bytes_sent += sent
                self.result.blobs_uploaded += 1
                self._holders[blob.digest] = repo

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.result, name, getattr(self.result, name) + 1)


def _blobs(layout: Layout, entries: list[Descriptor]) -> dict[str, int]:
    """Every config and layer blob the images point at (manifests are not counted), once each."""
    found: dict[str, int] = {}
    stack = list(entries)
    while stack:
        for child in layout.children(stack.pop()):
            if _is_manifest(child):
                stack.append(child)
            else:
                found[child.digest] = child.size
    return found


def _is_manifest(descriptor: Descriptor) -> bool:
    return descriptor.media_type.endswith("+json") and ("manifest" in descriptor.media_type
                                                        or "index" in descriptor.media_type)


def push(bundle: Path, endpoint: Endpoint, prefix: str, state_dir: Path, say: Callable[[str], None] = print,
         concurrency: int = DEFAULT_CONCURRENCY, chunk_size: int = CHUNK_SIZE,
         on_update: Callable[[int, int | None], None] | None = None) -> PushResult:
    """Push every image of an (already verified) bundle; RegistryError/BundleError on failure."""
    manifest = read_manifest(bundle)
    mirror_of = {i["reference"]: i["mirror"] for i in manifest.get("images") or []}
    layout = Layout(Path(bundle) / "images")
    entries = layout.entries()
    missing = [e.reference for e in entries if e.reference not in mirror_of]
    if missing:
        raise BundleError(f"images/index.json names images manifest.json does not list: {', '.join(missing)}")
    total = sum(size for _digest, size in _blobs(layout, entries).items())
    registry = HttpRegistry(endpoint)
    registry.ping()
    progress = ByteProgress(f"pushing to {endpoint.host}", total, on_update=on_update)
    pusher = Pusher(bundle, registry, prefix, UploadJournal(Path(state_dir) / "push-uploads.json"), progress, say,
                    chunk_size)
    started = time.monotonic()
    errors: list[str] = []

    def one(entry: Descriptor) -> None:
        try:
            pusher.push_image(entry, mirror_of[entry.reference])
        except (RegistryError, OSError) as exc:
            errors.append(f"{entry.reference}: {exc}")

    with ThreadPoolExecutor(max(1, concurrency)) as pool:
        list(pool.map(one, entries))
    progress.finish()
    pusher.result.seconds = time.monotonic() - started
    if errors:
        raise BundleError(f"{len(errors)} image(s) not pushed:\n  " + "\n  ".join(sorted(errors)))
    return pusher.result
