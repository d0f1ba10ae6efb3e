"""An OCI distribution (Docker Registry v2) client over HTTP(S), with only the standard library.

Why not skopeo: the push runs on the jump host inside the air gap, which has only what the
bundle brings. The installer's own wheelhouse brings Python; a skopeo binary and its C
libraries would have to be carried and installed as Debian packages first. The distribution
API is small, and speaking it directly is what makes an interrupted upload resumable by
digest (skopeo restarts a blob from zero).

What this client does:
- every request has a connect and read timeout (`timeout`), never waits forever;
- Basic and Bearer (token service) authentication, answered when a 401 asks for it;
- blobs: HEAD (present?), GET streamed (redirects followed), cross-repository mount,
  chunked upload (POST, PATCH with Content-Range, PUT ?digest=) whose upload URL is handed
  to the caller after every chunk so an interrupted push continues from the registry's
  `Range` (GET on the upload URL) instead of from zero;
- manifests: HEAD for the digest, GET, PUT.

Every method raises RegistryError (with the HTTP status and the registry's error code when
there was one); a connection problem is a RegistryError with status 0.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

DEFAULT_TIMEOUT = 30.0
CHUNK_SIZE = 32 * 1024 * 1024  # registry 2.8 here: 8 MiB chunks ~50 MiB/s, 32 MiB ~70 MiB/s
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[0], MANIFEST_TYPES[2]


class RegistryError(Exception):
    """A registry answered with an error, or could not be reached (status 0)."""

    def __init__(self, message: str, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class UploadLost(RegistryError):
    """The registry no longer knows an upload the caller wanted to continue (it starts again)."""


@dataclass(frozen=True)
class Endpoint:
    """Where a registry is and how to talk to it. `insecure`: plain HTTP, or HTTPS without verification."""

    host: str                      # host[:port]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    insecure: bool = False
    plain_http: bool = False
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def parse(cls, address: str, **kwargs: Any) -> tuple[Endpoint, str]:
        """'host:port/path' or 'http://host:port/path' -> (Endpoint, repository prefix)."""
        plain = address.startswith("http://")
        address = address.split("://", 1)[-1].rstrip("/")
        host, _, prefix = address.partition("/")
        return cls(host=host, plain_http=plain or kwargs.pop("plain_http", False), **kwargs), prefix


@dataclass
class UploadProgress:
    """Where an upload stands: the URL to continue at and the bytes the registry holds."""

    location: str
    offset: int


class Registry(Protocol):
    def blob_size(self, repo: str, digest: str) -> int | None: ...
    def open_blob(self, repo: str, digest: str) -> BinaryIO: ...
    def manifest(self, repo: str, reference: str) -> tuple[str, bytes, str]: ...
    def manifest_digest(self, repo: str, reference: str) -> str | None: ...
    def mount_blob(self, repo: str, digest: str, source_repo: str) -> bool: ...
    def upload_status(self, location: str) -> UploadProgress: ...
    def upload_blob(self, repo: str, digest: str, size: int, reader: Callable[[int], BinaryIO], *,
                    resume: UploadProgress | None = None,
                    on_progress: Callable[[UploadProgress, int], None] | None = None,
                    chunk_size: int = ...) -> int: ...
    def put_manifest(self, repo: str, reference: str, media_type: str, body: bytes) -> str: ...


@dataclass
class Reply:
    """A registry's answer: status, headers and (unless streamed) the whole body."""

    status: int
    response: http.client.HTTPResponse
    body: bytes = b""

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.response.getheader(name, default)


_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class HttpRegistry:
    """The distribution API over http.client; one connection per thread, safe to share across threads."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._local = threading.local()
        self._tokens: dict[str, str] = {}
        self._basic = False
        self._lock = threading.Lock()
        self._scheme = "http" if endpoint.plain_http else "https"

    # --- transport ---------------------------------------------------------------------------
    def _context(self) -> ssl.SSLContext:
        if self.endpoint.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=str(self.endpoint.ca_file) if self.endpoint.ca_file else None)

    def _connection(self, host: str | None = None, scheme: str | None = None) -> http.client.HTTPConnection:
        host, scheme = host or self.endpoint.host, scheme or self._scheme
        if host != self.endpoint.host or scheme != self._scheme:  # a redirect elsewhere: a connection of its own
            return self._new_connection(host, scheme)
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._new_connection(host, scheme)
        return connection

    def _new_connection(self, host: str, scheme: str) -> http.client.HTTPConnection:
        if scheme == "http":
            return http.client.HTTPConnection(host, timeout=self.endpoint.timeout)
        return http.client.HTTPSConnection(host, timeout=self.endpoint.timeout, context=self._context())

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def close(self) -> None:
        self._drop_connection()

    def _url(self, path_or_url: str) -> tuple[str, str, str]:
        """(scheme, host, path?query) for a registry path or an absolute/relative Location."""
        if "://" in path_or_url:
            parts = urllib.parse.urlsplit(path_or_url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            return parts.scheme, parts.netloc, target
        return self._scheme, self.endpoint.host, path_or_url

    def _request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                 body: bytes | BinaryIO | None = None, scope: str = "", stream: bool = False,
                 expect: tuple[int, ...] = (200,), redirects: int = 3) -> Reply:
        headers = dict(headers or {})
        for attempt in range(2):
            auth = self._authorization(scope)
            if auth:
                headers["Authorization"] = auth
            scheme, host, target = self._url(path)
            own = host == self.endpoint.host and scheme == self._scheme
            connection = self._connection(host, scheme)
            try:
                if hasattr(body, "seek") and attempt:
                    body.seek(0)  # type: ignore[union-attr]
                connection.request(method, target, body=body, headers=headers if own else
                                   {k: v for k, v in headers.items() if k != "Authorization"})
                response = connection.getresponse()
            except ssl.SSLCertVerificationError as exc:
                self._drop_connection()
                raise RegistryError(f"{host}: TLS certificate not trusted ({exc.verify_message}); "
                                    "give registry.ca_cert or set registry.insecure") from None
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                if attempt == 0 and isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError,
                                                     ConnectionResetError)) and not hasattr(body, "read"):
                    continue  # a kept-alive connection the server closed meanwhile: once more on a new one
                raise RegistryError(f"{host}: {method} {target.split('?')[0]}: {exc or type(exc).__name__}") from None
            if response.status == 401 and attempt == 0:
                challenge = response.getheader("WWW-Authenticate", "")
                response.read()
                basic_refused = auth is not None and auth.startswith("Basic ")
                if not basic_refused and self._answer_challenge(challenge, scope):
                    continue
            if response.status in (301, 302, 303, 307, 308) and redirects and method in ("GET", "HEAD"):
                location = response.getheader("Location", "")
                response.read()
                if not own:
                    connection.close()
                return self._request(method, urllib.parse.urljoin(f"{scheme}://{host}{target}", location),
                                     headers={k: v for k, v in headers.items() if k != "Authorization"},
                                     scope=scope, stream=stream, expect=expect, redirects=redirects - 1)
            if response.status not in expect:
                raise self._error(method, target, response)
            if stream:
                return Reply(response.status, response)
            body_read = response.read()  # (HEAD: b"", and it frees the connection for the next request)
            if not own:
                connection.close()
            return Reply(response.status, response, body_read)
        raise RegistryError(f"{self.endpoint.host}: {method} {path.split('?', maxsplit=1)[0]}: authentication failed "
                            "(check registry.username and registry.password)", 401, "UNAUTHORIZED")

    def _error(self, method: str, target: str, response: http.client.HTTPResponse) -> RegistryError:
        text = response.read().decode("utf-8", "replace")
        code, message = "", ""
        try:
            first = (json.loads(text).get("errors") or [{}])[0]
            code, message = str(first.get("code", "")), str(first.get("message", ""))
        except (ValueError, AttributeError):
            message = text.strip()[:200]
        where = target.split("?", maxsplit=1)[0]
        if response.status == 401:
            message = "authentication failed (check registry.username and registry.password)"
        return RegistryError(f"{self.endpoint.host}: {method} {where}: {response.status} {code} {message}".rstrip(),
                             response.status, code)

    # --- authentication ----------------------------------------------------------------------
    def _authorization(self, scope: str) -> str | None:
        with self._lock:
            token = self._tokens.get(scope)
        if token:
            return f"Bearer {token}"
        if self._basic and self.endpoint.username:
            pair = f"{self.endpoint.username}:{self.endpoint.password or ''}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        return None

    def _answer_challenge(self, challenge: str, scope: str) -> bool:
        kind = challenge.split(" ", 1)[0].lower()
        if kind == "basic":  # (another thread may have learnt it meanwhile: then simply send it)
            if not self.endpoint.username:
                return False
            self._basic = True
            return True
        if kind != "bearer":
            return False
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.get("realm")
        if not realm:
            return False
        query = {"service": params.get("service", "")}
        if params.get("scope") or scope:
            query["scope"] = params.get("scope") or scope
        parts = urllib.parse.urlsplit(realm)
        connection = self._new_connection(parts.netloc, parts.scheme)
        headers = {}
        if self.endpoint.username:
            pair = f"{self.endpoint.username}:{self.endpoint.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        try:
            connection.request("GET", f"{parts.path}?{urllib.parse.urlencode(query)}", headers=headers)
            response = connection.getresponse()
            data = json.loads(response.read() or b"{}") if response.status == 200 else {}
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise RegistryError(f"{parts.netloc}: token service: {exc}") from None
        finally:
            connection.close()
        token = data.get("token") or data.get("access_token")
        if not token:
            return False
        with self._lock:
            self._tokens[scope] = token
        return True

    @staticmethod
    def _scope(repo: str, push: bool = False) -> str:
        return f"repository:{repo}:{'pull,push' if push else 'pull'}"

    # --- blobs -------------------------------------------------------------------------------
    def blob_size(self, repo: str, digest: str) -> int | None:
        response = self._request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=self._scope(repo), expect=(200, 404))
        if response.status == 404:
            return None
        return int(response.getheader("Content-Length") or 0)

    def open_blob(self, repo: str, digest: str) -> BinaryIO:
        """The blob's bytes as a stream (read it to the end before the next call on this thread)."""
        return self._request("GET", f"/v2/{repo}/blobs/{digest}", scope=self._scope(repo), stream=True).response

    def mount_blob(self, repo: str, digest: str, source_repo: str) -> bool:
        """Ask the registry to link a blob it holds in another repository; False when it starts an upload instead."""
        query = urllib.parse.urlencode({"mount": digest, "from": source_repo})
        response = self._request("POST", f"/v2/{repo}/blobs/uploads/?{query}", body=b"",
                                 headers={"Content-Length": "0"}, scope=self._scope(repo, True), expect=(201, 202))
        return response.status == 201

    def upload_status(self, location: str) -> UploadProgress:
        """How much of an interrupted upload the registry holds (its Range), or UploadLost."""
        try:
            response = self._request("GET", location, expect=(204,), scope=self._scope(_repo_of(location), True))
        except RegistryError as exc:
            if exc.status in (400, 404):
                raise UploadLost(f"the registry no longer has this upload ({exc.code or exc.status})",
                                 exc.status, exc.code) from None
            raise
        return UploadProgress(self._absolute(response.getheader("Location") or location),
                              _range_end(response.getheader("Range")))

    def _absolute(self, location: str) -> str:
        if "://" in location:
            return location
        return f"{self._scheme}://{self.endpoint.host}{location}"

    def upload_blob(self, repo: str, digest: str, size: int, reader: Callable[[int], BinaryIO], *,
                    resume: UploadProgress | None = None,
                    on_progress: Callable[[UploadProgress, int], None] | None = None,
                    chunk_size: int = CHUNK_SIZE) -> int:
        """Upload a blob in chunks; returns the bytes sent. `reader(offset)` opens the source at an offset.

        `on_progress(progress, sent)` is called after the POST and after every chunk the registry
        acknowledged, so the caller can keep `progress.location` to continue after an interruption.
        """
        scope = self._scope(repo, True)
        progress = None
        if resume is not None:
            try:
                progress = self.upload_status(resume.location)
            except UploadLost:
                progress = None
        if progress is None:
            response = self._request("POST", f"/v2/{repo}/blobs/uploads/", body=b"", headers={"Content-Length": "0"},
                                     scope=scope, expect=(202,))
            progress = UploadProgress(self._absolute(response.getheader("Location") or ""), 0)
            if on_progress:
                on_progress(progress, 0)
        sent = 0
        with reader(progress.offset) as source:
            while progress.offset < size:
                chunk = source.read(min(chunk_size, size - progress.offset))
                if not chunk:
                    raise RegistryError(f"blob {digest}: the source ended at {progress.offset} of {size} bytes")
                end = progress.offset + len(chunk) - 1
                response = self._request("PATCH", progress.location, body=chunk, scope=scope, expect=(202,), headers={
                    "Content-Type": "application/octet-stream", "Content-Length": str(len(chunk)),
                    "Content-Range": f"{progress.offset}-{end}"})
                sent += len(chunk)
                progress = UploadProgress(self._absolute(response.getheader("Location") or progress.location), end + 1)
                if on_progress:
                    on_progress(progress, sent)
        separator = "&" if "?" in progress.location else "?"
        self._request("PUT", f"{progress.location}{separator}digest={urllib.parse.quote(digest)}", body=b"",
                      headers={"Content-Length": "0"}, scope=scope, expect=(201,))
        return sent

    # --- manifests ---------------------------------------------------------------------------
    def manifest(self, repo: str, reference: str) -> tuple[str, bytes, str]:
        """(media type, body, digest) of a manifest or index."""
        response = self._request("GET", f"/v2/{repo}/manifests/{reference}", scope=self._scope(repo),
                                 headers={"Accept": ", ".join(MANIFEST_TYPES)})
        body = response.body
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        if media_type not in MANIFEST_TYPES:
            media_type = json.loads(body).get("mediaType") or MANIFEST_TYPES[1]
        return media_type, body, "sha256:" + hashlib.sha256(body).hexdigest()

    def manifest_digest(self, repo: str, reference: str) -> str | None:
        response = self._request("HEAD", f"/v2/{repo}/manifests/{reference}", scope=self._scope(repo),
                                 headers={"Accept": ", ".join(MANIFEST_TYPES)}, expect=(200, 404))
        if response.status == 404:
            return None
        return response.getheader("Docker-Content-Digest")

    def put_manifest(self, repo: str, reference: str, media_type: str, body: bytes) -> str:
        response = self._request("PUT", f"/v2/{repo}/manifests/{reference}", body=body, scope=self._scope(repo, True),
                                 headers={"Content-Type": media_type, "Content-Length": str(len(body))}, expect=(201,))
        return response.getheader("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()

    def ping(self) -> None:
        """Reachable and the credentials accepted (GET /v2/)."""
        self._request("GET", "/v2/", scope="")


def _range_end(header: str | None) -> int:
    """'0-1023' -> 1024 bytes held; no header -> 0."""
    if not header or "-" not in header:
        return 0
    return int(header.rsplit("-", 1)[1]) + 1


def _repo_of(location: str) -> str:
    path = urllib.parse.urlsplit(location).path
    return path.removeprefix("/v2/").split("/blobs/uploads/")[0]


def iter_chunks(stream: BinaryIO, size: int = 1024 * 1024) -> Iterator[bytes]:
    while True:
        chunk = stream.read(size)
        if not chunk:
            return
        yield chunk
