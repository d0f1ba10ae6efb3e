"""One OCI image layout (image-spec `oci-layout`, `index.json`, `blobs/sha256/<hex>`) holding every image.

Each image is one `index.json` entry: the manifest (or, for a reference pinned to a
multi-platform index, the index) with the original reference in the standard
`org.opencontainers.image.ref.name` annotation, so skopeo's `oci:DIR:REF` can read it too.
Blobs are content-addressed: a layer shared by many images is stored once, and a blob is
written to a temporary name, hashed while written and renamed only when its digest matches.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from installer.files import atomic_write

REF_NAME = "org.opencontainers.image.ref.name"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
READ_SIZE = 1024 * 1024


class LayoutError(Exception):
    """A blob does not match its digest, or the layout is not an OCI layout."""


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    reference: str = ""

    def to_json(self) -> dict[str, Any]:
        entry = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.reference:
            entry["annotations"] = {REF_NAME: self.reference}
        return entry


class Layout:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def blobs(self) -> Path:
        return self.root / "blobs" / "sha256"

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or len(hexdigest) != 64:
            raise LayoutError(f"{digest}: only sha256 digests are supported")
        return self.blobs / hexdigest

    def init(self) -> None:
        self.blobs.mkdir(parents=True, exist_ok=True)
        if not (self.root / "oci-layout").exists():
            atomic_write(self.root / "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}), 0o644)

    def has_blob(self, digest: str, size: int | None = None) -> bool:
        path = self.blob_path(digest)
        return path.is_file() and (size is None or path.stat().st_size == size)

    def write_blob(self, digest: str, stream: BinaryIO, on_bytes: Callable[[int], None] | None = None) -> int:
        """Copy a stream into the layout, hashing as it goes; a mismatch leaves nothing behind."""
        target = self.blob_path(digest)
        partial = target.with_name(f".{target.name}.partial")
        hasher, size = hashlib.sha256(), 0
        with open(partial, "wb") as out:
            while True:
                chunk = stream.read(READ_SIZE)
                if not chunk:
                    break
                hasher.update(chunk)
                out.write(chunk)
                size += len(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
        if "sha256:" + hasher.hexdigest() != digest:
            partial.unlink(missing_ok=True)
            raise LayoutError(f"blob {digest}: the bytes received hash to sha256:{hasher.hexdigest()}")
        os.replace(partial, target)
        return size

    def put_bytes(self, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not path.is_file():
            atomic_write(path, data, 0o644)
        return digest

    def read_blob(self, digest: str) -> bytes:
        return self.blob_path(digest).read_bytes()

    def open_blob(self, digest: str, offset: int = 0) -> BinaryIO:
        handle = open(self.blob_path(digest), "rb")  # noqa: SIM115 - the caller closes what it is handed
        handle.seek(offset)
        return handle

    def write_index(self, entries: list[Descriptor]) -> None:
        index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE,
                 "manifests": [e.to_json() for e in sorted(entries, key=lambda e: e.reference)]}
        atomic_write(self.root / "index.json", json.dumps(index, indent=1) + "\n", 0o644)

    def entries(self) -> list[Descriptor]:
        try:
            index = json.loads((self.root / "index.json").read_text())
        except (OSError, ValueError) as exc:
            raise LayoutError(f"{self.root / 'index.json'}: {exc}") from None
        return [Descriptor(m["mediaType"], m["digest"], int(m["size"]), (m.get("annotations") or {}).get(REF_NAME, ""))
                for m in index.get("manifests") or []]

    def children(self, descriptor: Descriptor) -> Iterator[Descriptor]:
        """The blobs a manifest or index points at (configs, layers, platform manifests)."""
        body = json.loads(self.read_blob(descriptor.digest))
        if "manifests" in body:
            for m in body["manifests"]:
                yield Descriptor(m["mediaType"], m["digest"], int(m["size"]))
        else:
            config = body.get("config")
            if config:
                yield Descriptor(config["mediaType"], config["digest"], int(config["size"]))
            for layer in body.get("layers") or []:
                yield Descriptor(layer["mediaType"], layer["digest"], int(layer["size"]))
