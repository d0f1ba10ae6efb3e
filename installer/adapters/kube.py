"""The Kubernetes API behind a small interface: `KubeCluster`, and `ApiCluster` over the official client.

Domain code sees plain JSON objects (dicts as the API serves them): lists are read for a few
fields, so building the client's model objects would be wasted time, and a partially filled
object (an emulator's, or a controller's half-written status) never trips a model's validation.

The official client waits forever unless each call passes `_request_timeout`; the client built
here supplies one whenever the caller did not, so a hung API server cannot stall the installer.
Every request therefore gives up after the timeout given to `connect` (connect: at most 5 s).
"""
from __future__ import annotations

import builtins  # the clusters below have a method named list
import functools
import json
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from collections.abc import Iterator

DEFAULT_TIMEOUT = 15.0
CONNECT_TIMEOUT = 5.0
# Statuses worth another attempt: a conflict, throttling, or a server in trouble.
TRANSIENT_STATUS = frozenset({409, 429, 500, 502, 503, 504})


class KubeConfigError(Exception):
    """The kubeconfig cannot be read or does not contain the requested context."""


class KubeError(Exception):
    """A request failed: the API answered with an error `status`, or (status None) it could not be
    reached, or did not answer within the timeout. The message never holds a credential."""

    def __init__(self, message: str, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason

    @property
    def transient(self) -> bool:
        """True when trying again later may succeed (no answer, a conflict, throttling, a 5xx)."""
        return self.status is None or self.status in TRANSIENT_STATUS


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core API
    version: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{urllib.parse.quote(namespace, safe='')}"
        base += f"/{self.plural}"
        return base + (f"/{urllib.parse.quote(name, safe='')}" if name else "")


# The kinds the installer reads or writes.
RESOURCES: dict[str, Resource] = {
    "Namespace": Resource("", "v1", "namespaces", False),
    "Node": Resource("", "v1", "nodes", False),
    "PersistentVolume": Resource("", "v1", "persistentvolumes", False),
    "Secret": Resource("", "v1", "secrets", True),
    "ConfigMap": Resource("", "v1", "configmaps", True),
    "Service": Resource("", "v1", "services", True),
    "Pod": Resource("", "v1", "pods", True),
    "PersistentVolumeClaim": Resource("", "v1", "persistentvolumeclaims", True),
    "Event": Resource("", "v1", "events", True),
    "Deployment": Resource("apps", "v1", "deployments", True),
    "StatefulSet": Resource("apps", "v1", "statefulsets", True),
    "DaemonSet": Resource("apps", "v1", "daemonsets", True),
    "ReplicaSet": Resource("apps", "v1", "replicasets", True),
    "Job": Resource("batch", "v1", "jobs", True),
    "Ingress": Resource("networking.k8s.io", "v1", "ingresses", True),
    "StorageClass": Resource("storage.k8s.io", "v1", "storageclasses", False),
    "Lease": Resource("coordination.k8s.io", "v1", "leases", True),
}


def resource(kind: str) -> Resource:
    try:
        return RESOURCES[kind]
    except KeyError:
        raise ValueError(f"the Kubernetes adapter does not know kind {kind!r}; add it to RESOURCES") from None


class KubeCluster(Protocol):
    """One cluster's API, as the installer uses it. Objects are plain dicts in the API's JSON shape.

    Every method raises KubeError (`.status` set when the API answered with an error, None when it
    could not be reached or did not answer within the adapter's timeout) and ValueError for a kind
    missing from RESOURCES. No call waits longer than the timeout given to `connect`.
    """

    server: str  # the API server's URL, for messages

    def version(self) -> str:
        """The server's gitVersion (e.g. v1.30.4+rke2r1)."""
        ...

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None when it does not exist (404)."""
        ...

    def list(self, kind: str, namespace: str | None = None, *, label_selector: str | None = None
             ) -> list[dict[str, Any]]:
        """The objects of a kind in a namespace; namespace None: in every namespace."""
        ...

    def list_versioned(self, kind: str, namespace: str | None = None) -> tuple[builtins.list[dict[str, Any]], str]:
        """The objects and the list's resourceVersion, where a watch of the same kind starts."""
        ...

    def watch(self, kind: str, namespace: str | None = None, *, resource_version: str,
              timeout: float) -> Iterator[tuple[str, dict[str, Any]]]:
        """Changes after `resource_version`, as (ADDED|MODIFIED|DELETED|BOOKMARK, object), until the
        server ends the stream (after `timeout` s). Raises KubeError; status 410: the version is too old,
        list again."""
        ...

    def create(self, manifest: dict[str, Any]) -> bool:
        """Create the object; True when created, False when one of that name exists (409)."""
        ...

    def patch(self, kind: str, name: str, patch: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Apply a JSON merge patch (RFC 7386); returns the object as stored."""
        ...

    def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete the object; True when deleted, False when it did not exist (404)."""
        ...

    def pod_log(self, pod: str, namespace: str, *, container: str = "", previous: bool = False,
                tail_lines: int | None = None) -> str:
        """What a container wrote (previous=True: its last terminated instance)."""
        ...

    def allowed(self, verb: str, group: str, resource: str) -> bool:
        """Whether the credentials in use may do `verb` on `resource` (a SelfSubjectAccessReview)."""
        ...

    def publishes_openapi(self) -> bool:
        """Whether the server serves an OpenAPI document (Helm validates manifests against it)."""
        ...

    def close(self) -> None:
        """Release the connections; the object is not used afterwards."""
        ...


@functools.lru_cache(maxsize=1)
def _timed_client_class() -> type:
    from kubernetes.client import ApiClient

    class TimedApiClient(ApiClient):
        default_timeout: float = DEFAULT_TIMEOUT

        def call_api(self, method, url, header_params=None, body=None, post_params=None,  # type: ignore[no-untyped-def]
                     _request_timeout=None):
            if _request_timeout is None:
                _request_timeout = _timeout_for(url, self.default_timeout)
            return super().call_api(method, url, header_params, body, post_params, _request_timeout)

    return TimedApiClient


def _timeout_for(url: str, default: float) -> float | tuple[float, float]:
    """Watches stream for their server-side timeoutSeconds; everything else gets the default."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if query.get("watch", [""])[0] in ("true", "1"):
        seconds = query.get("timeoutSeconds", [""])[0]
        read = float(seconds) + default if seconds.isdigit() else 3600.0
        return (min(CONNECT_TIMEOUT, default), read)
    return (min(CONNECT_TIMEOUT, default), default)


def api_client(kubeconfig: Path | str | None, context: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """The official client's ApiClient for the kubeconfig's context; every request times out after `timeout` s.

    For tests and for ApiCluster; domain code uses `connect` and the KubeCluster interface.
    """
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    load_kube_config: Any = config.load_kube_config  # the client ships no type hints
    configuration = client.Configuration()
    try:
        load_kube_config(
            config_file=str(kubeconfig) if kubeconfig else None,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, OSError, ValueError, TypeError) as exc:
        raise KubeConfigError(f"{kubeconfig}: {exc}") from None
    configuration.retries = 1
    api = _timed_client_class()(configuration)
    api.default_timeout = timeout
    return api


def connect(kubeconfig: Path | str | None, context: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> ApiCluster:
    """The cluster of the kubeconfig's context (None: its current context); raises KubeConfigError.

    Nothing is sent yet: an unreachable API shows on the first call, as KubeError.
    """
    return ApiCluster(api_client(kubeconfig, context, timeout))


class ApiCluster:
    """KubeCluster over the official client's ApiClient (plain REST paths, raw JSON)."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.server: str = api.configuration.host

    # --- plumbing ---------------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, query: list[tuple[str, str]] | None = None,
                 body: Any = None, content_type: str = "application/json", accept: str = "application/json",
                 missing_ok: bool = False, exists_ok: bool = False) -> Any:
        """The response body (parsed JSON when `accept` is JSON, else text); None for a tolerated 404/409."""
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        import urllib3
        from kubernetes.client.exceptions import ApiException

        method, url, headers, body, _ = self.api.param_serialize(
            method, path, query_params=query or [], header_params=headers, body=body,
            auth_settings=["BearerToken"])
        try:
            response = self.api.call_api(method, url, header_params=headers, body=body)
            data = response.read()
        except ApiException as exc:  # the client's own refusals: TLS failures (status 0), Retry-After answers
            reason = " ".join(str(exc.reason or type(exc).__name__).split())
            if not exc.status:
                raise KubeError(f"no answer from {self.server}: {reason}") from None
            raise KubeError(f"{method} {path}: HTTP {exc.status} {reason}", int(exc.status), reason) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # refused, reset, timed out, TLS
            raise KubeError(f"no answer from {self.server}: {_transport_message(exc)}") from None
        status = int(response.status)
        if (status == 404 and missing_ok) or (status == 409 and exists_ok):
            return None
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")
        if status >= 400:
            reason = str(getattr(response, "reason", "") or "")
            raise KubeError(f"{method} {path}: HTTP {status} {reason}{_api_detail(text)}".strip(), status, reason)
        if "json" not in accept:
            return text
        return json.loads(text) if text.strip() else {}

    # --- KubeCluster ------------------------------------------------------------------------------
    def version(self) -> str:
        return str(self._request("GET", "/version").get("gitVersion") or "")

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._request("GET", resource(kind).path(namespace, name), missing_ok=True)
        return result

    def list(self, kind: str, namespace: str | None = None, *, label_selector: str | None = None
             ) -> list[dict[str, Any]]:
        query = [("labelSelector", label_selector)] if label_selector else []
        found = self._request("GET", resource(kind).path(namespace), query=query)
        return list(found.get("items") or [])

    def list_versioned(self, kind: str, namespace: str | None = None) -> tuple[builtins.list[dict[str, Any]], str]:
        found = self._request("GET", resource(kind).path(namespace))
        return list(found.get("items") or []), str((found.get("metadata") or {}).get("resourceVersion") or "")

    def watch(self, kind: str, namespace: str | None = None, *, resource_version: str,
              timeout: float) -> Iterator[tuple[str, dict[str, Any]]]:
        path = resource(kind).path(namespace)
        query = [("watch", "true"), ("resourceVersion", resource_version), ("allowWatchBookmarks", "true"),
                 ("timeoutSeconds", str(max(1, int(timeout))))]
        try:
            method, url, headers, _body, _ = self.api.param_serialize(
                "GET", path, query_params=query, header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"])
            response = self.api.call_api(method, url, header_params=headers)
        except Exception as exc:  # urllib3, SSL and socket errors alike: no usable answer
            raise KubeError(f"no answer from {self.server}: {_transport_message(exc)}") from None
        status = int(response.status)
        if status >= 400:
            text = response.read().decode("utf-8", "replace")
            raise KubeError(f"watch {path}: HTTP {status}{_api_detail(text)}", status)
        pending = b""
        try:
            for chunk in response.response.stream(65536, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        raise KubeError(f"watch {path}: {obj.get('message') or obj}", int(obj.get("code") or 500),
                                        str(obj.get("reason") or ""))
                    yield str(event.get("type")), obj
        except KubeError:
            raise
        except Exception as exc:  # the stream broke or stalled past its read timeout
            raise KubeError(f"watch {path} ended: {_transport_message(exc)}") from None
        finally:
            response.response.release_conn()

    def create(self, manifest: dict[str, Any]) -> bool:
        meta = manifest.get("metadata") or {}
        path = resource(str(manifest.get("kind"))).path(meta.get("namespace"))
        return self._request("POST", path, body=manifest, exists_ok=True) is not None

    def patch(self, kind: str, name: str, patch: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._request("PATCH", resource(kind).path(namespace, name), body=patch,
                                               content_type="application/merge-patch+json")
        return result

    def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        return self._request("DELETE", resource(kind).path(namespace, name), missing_ok=True) is not None

    def pod_log(self, pod: str, namespace: str, *, container: str = "", previous: bool = False,
                tail_lines: int | None = None) -> str:
        query = [("previous", "true" if previous else "false")]
        if container:
            query.append(("container", container))
        if tail_lines is not None:
            query.append(("tailLines", str(tail_lines)))
        text: str = self._request("GET", resource("Pod").path(namespace, pod) + "/log", query=query, accept="*/*")
        return text

    def allowed(self, verb: str, group: str, resource: str) -> bool:
        review = self._request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body={
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "group": group, "resource": resource}}})
        return bool((review.get("status") or {}).get("allowed"))

    def publishes_openapi(self) -> bool:
        # /openapi/v3 is a small index of group-versions (Kubernetes 1.27+, beta since 1.24); only a
        # server without it is asked for /openapi/v2, which is several MB on a real cluster.
        for path in ("/openapi/v3", "/openapi/v2"):
            try:
                self._request("GET", path, accept="*/*")
            except KubeError as exc:
                if exc.status is None:
                    raise
                continue
            return True
        return False

    def close(self) -> None:
        self.api.close()


def _transport_message(exc: BaseException) -> str:
    text = str(exc)
    return (text.splitlines()[0] if text else "") or type(exc).__name__


def _api_detail(text: str) -> str:
    """The `message` of a Kubernetes Status answer, when there is one."""
    try:
        document = json.loads(text)
    except ValueError:
        return ""
    message = document.get("message") if isinstance(document, dict) else None
    return f": {message}" if message else ""


def parse_quantity(quantity: str | int | float) -> float:
    """A resource quantity ("3800m", "16Gi", "1e3") as a number (cores, bytes)."""
    from kubernetes import utils

    parse: Any = utils.parse_quantity  # the client ships no type hints
    return float(parse(quantity))
