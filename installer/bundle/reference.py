"""Image references: parse, normalise (docker.io/library/...), and where each lives in the mirror.

The mirror holds an image under its repository path without the registry host, exactly as
the plan rewrites chart values (`installer/plan/values.py`: docker.elastic.co/kibana/kibana ->
MIRROR/kibana/kibana), so what the bundle pushes is what the rendered manifests pull.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


class ReferenceError(ValueError):
    """Not an image reference."""


@dataclass(frozen=True, order=True)
class ImageRef:
    host: str          # registry host[:port], docker.io for Docker Hub
    path: str          # repository path, library/ added for Docker Hub's one-word names
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """Fully qualified: host/path[:tag][@digest]."""
        return f"{self.host}/{self.path}{self.suffix}"

    @property
    def suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        return self.name


def _has_host(first: str, rest: bool) -> bool:
    return rest and ("." in first or ":" in first or first == "localhost")


def parse(text: str) -> ImageRef:
    """'busybox' -> docker.io/library/busybox:latest; 'quay.io/x/y@sha256:..' keeps the digest."""
    text = text.strip()
    if not text or any(c.isspace() for c in text) or "://" in text:
        raise ReferenceError(f"{text!r} is not an image reference")
    name, digest = text, None
    if "@" in name:
        name, digest = name.split("@", 1)
        if not _DIGEST.match(digest):
            raise ReferenceError(f"{text!r}: {digest!r} is not a sha256 digest")
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        if not _TAG.match(tag):
            raise ReferenceError(f"{text!r}: {tag!r} is not a tag")
    first, sep, rest = name.partition("/")
    if _has_host(first, bool(sep)):
        host, path = first, rest
    else:
        host, path = DOCKER_HUB, name
    if host in ("index.docker.io", "registry-1.docker.io"):
        host = DOCKER_HUB
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not path or not all(_COMPONENT.match(c) for c in path.split("/")):
        raise ReferenceError(f"{text!r} is not an image reference")
    if tag is None and digest is None:
        tag = "latest"
    return ImageRef(host, path, tag, digest)


def mirror_path(original: str) -> str:
    """The repository in the mirror: the reference as written, without registry host, tag or digest."""
    ref = parse(original)
    written = original.split("@", 1)[0]
    first, sep, rest = written.partition("/")
    if _has_host(first, bool(sep)):
        written = rest
    last = written.rsplit("/", 1)[-1]
    if ":" in last:
        written = written.rsplit(":", 1)[0]
    return written or ref.path


def mirror_tag(original: str) -> str:
    """The tag the mirror gets; a reference pinned only by digest is tagged with the digest's first 32 hex."""
    ref = parse(original)
    return ref.tag or "sha256-" + (ref.digest or "")[7:39]
