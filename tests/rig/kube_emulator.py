"""The rig's Kubernetes API: kmock's emulator with its known defects fixed, plus a rollout simulator.

Run as a daemon by tests/rig/rig.py:
    python -m tests.rig.kube_emulator --dir RIGDIR --seed SEED.json --port-file FILE

kmock 0.8 defects fixed here (numbers as in docs TEST-RIG.md):
1 trailing slashes, 2 namespace CRUD, 3 PUT, 4 server-set metadata, 5 watch timeoutSeconds,
6 core groupVersion, 7 list kind, 8 subresource shortNames. Also: label/field selectors,
merge/JSON/apply patches, namespace deletion cascades, SelfSubjectAccessReview answers.
Served as kube-apiserver serves them: only the resources discovery lists (404 otherwise, and for
the wrong scope), the kinds CustomResourceDefinitions define (kube_crds.py), and protobuf bodies
and answers for Secrets and ConfigMaps (kube_protobuf.py), which Helm's release storage uses.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime
import itertools
import json
import os
import re
import signal
import uuid
from pathlib import Path
from typing import Any

import aiohttp.web
import attrs
import jsonpatch
import yaml
import yarl
from kmock._internal import enums, k8s, references, rendering

from tests.rig import kube_crds, kube_protobuf

NAMESPACES = references.resource("", "v1", "namespaces")
SSAR = references.resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews")
DEFAULT_SERVER_VERSION = "v1.29.4"
POD_LOG_ANNOTATION = "rig.digit.test/log"  # what pods/log answers for a simulated pod


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_api_path(path: str) -> tuple[str | None, str | None, str | None, str | None, str | None, str | None]:
    """Split an API path into group, version, namespace, plural, name, subresource (namespaces included)."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None, None, None, None, None, None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    plural = rest[0] if rest else None
    name = rest[1] if len(rest) > 1 else None
    subresource = "/".join(rest[2:]) or None
    return group, version, namespace, plural, name, subresource


_SELECTOR_TERM = re.compile(
    r"\s*(?:(?P<notexists>!)\s*(?P<nkey>[^\s,!=()]+)"
    r"|(?P<key>[^\s,!=()]+)\s*(?:(?P<op>==|!=|=)\s*(?P<value>[^\s,()]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?)\s*(?:,|$)"
)


def label_selector_matches(selector: str, labels: dict[str, str]) -> bool:
    pos = 0
    selector = selector.strip()
    while pos < len(selector):
        m = _SELECTOR_TERM.match(selector, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad label selector: {selector!r}")
        pos = m.end()
        if m["notexists"]:
            if m["nkey"] in labels:
                return False
        elif m["op"]:
            present = labels.get(m["key"])
            if m["op"] == "!=":
                if present == m["value"]:
                    return False
            elif present != m["value"]:
                return False
        elif m["setop"]:
            values = {v.strip() for v in m["values"].split(",") if v.strip()}
            if m["setop"] == "in" and labels.get(m["key"]) not in values:
                return False
            if m["setop"] == "notin" and labels.get(m["key"]) in values:
                return False
        elif m["key"] not in labels:
            return False
    return True


def field_selector_matches(selector: str, obj: dict[str, Any]) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        negate = "!=" in term
        key, _, value = term.replace("!=", "=").replace("==", "=").partition("=")
        current: Any = obj
        for part in key.strip().split("."):
            current = current.get(part) if isinstance(current, dict) else None
        matched = str(current if current is not None else "") == value.strip()
        if matched == negate:
            return False
    return True


def merge_patch(base: Any, patch: Any) -> Any:
    """RFC 7386 merge patch (also good enough for strategic merge patches on the rig's objects)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@attrs.define(kw_only=True)
class RigKubernetes(k8s.KubernetesEmulator):
    """kmock's emulator made to behave enough like kube-apiserver for the official client and Helm."""

    rig_dir: Path | None = None
    server_version: str = DEFAULT_SERVER_VERSION
    _revision: itertools.count = attrs.field(factory=lambda: itertools.count(1000), init=False)
    _last_revision: int = attrs.field(default=1000, init=False)
    _crd_served: dict[references.resource, str] = attrs.field(factory=dict, init=False)  # -> CRD name

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.resources.load_bundled()

    def next_revision(self) -> str:
        self._last_revision = next(self._revision)
        return str(self._last_revision)

    # --- request parsing (defects 1, 2, 3) ---------------------------------------------------
    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        await raw_request.read()
        try:
            request = await self._parse(raw_request)
            self._requests.append(request)
            del self._requests[:-200]
            try:
                response = await self._handle(request)
                if kube_protobuf.prefers_protobuf(raw_request.headers.get("Accept")):
                    response = self._as_protobuf(response)
                return response
            except rendering.StreamingError as e:
                if e.__cause__ is not None:
                    raise e.__cause__
                raise
        except k8s.KubernetesError as e:
            return await self._render_error(e)
        except Exception as e:  # an emulator bug must reach the client as a 500, not a hang
            return await self._render_error(e)

    async def _parse(self, raw_request: aiohttp.web.BaseRequest) -> rendering.Request:
        path = raw_request.path.rstrip("/") or "/"
        url = raw_request.url.with_path(path)
        body = await raw_request.read()
        text = body.decode("utf-8", "replace")
        content_type = raw_request.headers.get("Content-Type", "")
        data: Any = None
        if body and content_type.startswith(kube_protobuf.PROTOBUF):
            if raw_request.method in ("POST", "PUT", "PATCH"):  # a DELETE's body is DeleteOptions
                try:
                    data = kube_protobuf.decode(body)
                except kube_protobuf.ProtobufError as e:
                    raise k8s.KubernetesError(status=415, reason="UnsupportedMediaType", message=str(e))
            text = ""
        elif body:
            try:
                data = yaml.safe_load(text) if "yaml" in content_type else json.loads(text)
            except (ValueError, yaml.YAMLError):
                data = None
        group, version, namespace, plural, name, subresource = parse_api_path(path)
        resource = None
        action = None
        if group is not None:
            resource = references.resource(group=group, version=version, plural=plural)
            method = enums.method(raw_request.method)
            query = dict(raw_request.query)
            if method == enums.method.GET and query.get("watch") in ("true", "1"):
                action = enums.action.WATCH
            elif name is None:
                action = {enums.method.GET: enums.action.LIST, enums.method.POST: enums.action.CREATE}.get(method)
            else:
                action = {
                    enums.method.GET: enums.action.FETCH,
                    enums.method.PATCH: enums.action.UPDATE,
                    enums.method.PUT: enums.action.UPDATE,
                    enums.method.DELETE: enums.action.DELETE,
                }.get(method)
            if plural is None:
                resource = references.resource(group=group, version=version)
        return rendering.Request(
            id=len(self._requests), raw_request=raw_request, url=yarl.URL(str(url)),
            method=raw_request.method, params=dict(raw_request.query), headers=dict(raw_request.headers),
            cookies=dict(raw_request.cookies), data=data, body=body, text=text,
            action=action, resource=resource, namespace=namespace, name=name, subresource=subresource,
        )

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        """kube-apiserver's Status reasons (client-go's IsNotFound/IsAlreadyExists read them), not kmock's
        prose ones, and no traceback for an ordinary refusal."""
        if not isinstance(exc, k8s.KubernetesError) or exc.status >= 500:
            return await super()._render_error(exc)
        reason = {404: "NotFound", 409: "AlreadyExists"}.get(exc.status, exc.reason or "BadRequest")
        return aiohttp.web.json_response({
            "apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure", "code": exc.status,
            "reason": reason, "message": exc.message or reason, "details": exc.details or {},
        }, status=exc.status)

    @staticmethod
    def _as_protobuf(response: aiohttp.web.StreamResponse) -> aiohttp.web.StreamResponse:
        """A JSON answer of a kind kube_protobuf encodes, re-encoded; anything else stays JSON (which
        client-go accepts as its fallback, as it must for custom resources on a real server)."""
        if not isinstance(response, aiohttp.web.Response) or response.content_type != "application/json" \
                or not 200 <= response.status < 300 or not isinstance(response.body, bytes):
            return response
        try:
            obj = json.loads(response.body)
        except ValueError:
            return response
        if not isinstance(obj, dict) or not kube_protobuf.supports(obj.get("kind")):
            return response
        return aiohttp.web.Response(body=kube_protobuf.encode(obj), status=response.status,
                                    content_type=kube_protobuf.PROTOBUF)

    # --- what is served: built-in resources and those of CustomResourceDefinitions -------------
    def _get_resources(self) -> list[references.resource]:
        return list(self.resources)

    def _check_served(self, request: rendering.Request) -> None:
        """404 for a resource discovery does not list, or addressed in the wrong scope, as kube-apiserver."""
        resource = request.resource
        if resource not in self.resources:
            raise k8s.KubernetesError(status=404, reason="NotFound",
                                      message="the server could not find the requested resource")
        info = self.resources[resource]
        by_name = request.name is not None or request.action == enums.action.CREATE
        if (info.namespaced is False and request.namespace is not None) or \
                (info.namespaced and request.namespace is None and by_name):
            raise k8s.KubernetesError(status=404, reason="NotFound",
                                      message="the server could not find the requested resource")
        if request.subresource and resource in self._crd_served and \
                request.subresource.split("/")[0] not in info.subresources:
            raise k8s.KubernetesError(status=404, reason="NotFound",
                                      message="the server could not find the requested resource")

    def _crd_admit(self, crd: dict[str, Any]) -> None:
        found = kube_crds.problems(crd)
        if found:
            name = (crd.get("metadata") or {}).get("name", "")
            raise k8s.KubernetesError(status=422, reason="Invalid", message=(
                f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: ' + "; ".join(found)))
        crd["status"] = kube_crds.established(crd)

    def _crd_serve(self, crd: dict[str, Any]) -> set[references.resource]:
        """Serve what the CRD defines now; return the resources it no longer serves."""
        name = crd["metadata"]["name"]
        before = {r for r, owner in self._crd_served.items() if owner == name}
        now = kube_crds.served(crd)
        for resource, info in now.items():
            self.resources[resource] = info
            self._crd_served[resource] = name
        return before - set(now)

    async def _crd_withdraw(self, resources: set[references.resource]) -> None:
        """Stop serving resources and delete their objects, as deleting a CRD deletes its custom resources."""
        for resource in resources:
            self._crd_served.pop(resource, None)
            if resource in self.resources:
                del self.resources[resource]
            for key in [k for k in self._objects if k[0] == resource]:
                obj = self._objects[key]
                if not obj.deleted:
                    await self._buses[resource].put({"type": "DELETED", "object": copy.deepcopy(obj.raw)})
                del self._objects[key]

    async def _serve_apis(self, request: rendering.Request) -> rendering.Payload:
        groups: dict[str, set[str]] = {}
        for resource in self._get_resources():
            if resource.group:
                groups.setdefault(resource.group, set()).add(resource.version)
        return {"apiVersion": "v1", "kind": "APIGroupList",
                "groups": [self._group_entry(group, versions) for group, versions in sorted(groups.items())]}

    async def _serve_group(self, request: rendering.Request) -> rendering.Payload:
        group = request.url.path.strip("/").split("/")[-1]
        versions = {r.version for r in self._get_resources() if r.group == group}
        if not versions:
            raise k8s.KubernetesError(status=404, reason="NotFound",
                                      message="the server could not find the requested resource")
        return {"apiVersion": "v1", "kind": "APIGroup", **self._group_entry(group, versions)}

    @staticmethod
    def _group_entry(group: str, versions: set[str]) -> dict[str, Any]:
        ordered = [{"groupVersion": f"{group}/{v}", "version": v} for v in kube_crds.version_order(versions)]
        return {"name": group, "versions": ordered, "preferredVersion": ordered[0]}

    # --- state changes (defects 3, 4; patches; cascades) ---------------------------------------
    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        if request.resource is None or request.resource.plural is None:
            return await super()._handle(request)
        self._check_served(request)
        if request.resource == SSAR and request.action == enums.action.CREATE:
            return aiohttp.web.json_response(self._review_access(request.data or {}), status=201)
        if request.resource.plural == "pods" and request.subresource == "log" and request.action == enums.action.FETCH:
            return self._serve_pod_log(request)
        if request.action == enums.action.CREATE:
            if not isinstance(request.data, dict):
                raise k8s.KubernetesError(status=400, reason="BadRequest", message="body must be a JSON object")
            self._stamp_new(request.resource, request.namespace, request.data)
            if request.resource == kube_crds.CRDS:
                self._crd_admit(request.data)
            response = await super()._handle(request)
            response.set_status(201)
            if request.resource == kube_crds.CRDS:
                await self._crd_withdraw(self._crd_serve(request.data))
            return response
        if request.action == enums.action.UPDATE:
            return await self._update(request)
        if request.action == enums.action.DELETE:
            response = await super()._handle(request)
            if request.resource == NAMESPACES:
                await self._cascade_namespace(request.name)
            if request.resource == kube_crds.CRDS:
                await self._crd_withdraw({r for r, owner in self._crd_served.items() if owner == request.name})
            return response
        return await super()._handle(request)

    def _serve_pod_log(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        """pods/log as text: the lines the rollout simulator put in the pod's POD_LOG_ANNOTATION."""
        key = (references.resource("", "v1", "pods"), request.namespace, request.name)
        stored = self._objects[key] if key in self._objects else None  # noqa: SIM401 - kmock's ObjectsArray: .get() is not [] lookup
        if stored is None or stored.deleted:
            raise k8s.KubernetesError(status=404, reason="NotFound", message=f"pods {request.name!r} not found")
        lines = ((stored.raw.get("metadata") or {}).get("annotations") or {}).get(POD_LOG_ANNOTATION, "").splitlines()
        tail = request.params.get("tailLines")
        if tail and tail.isdigit():
            lines = lines[-int(tail):] if int(tail) else []
        return aiohttp.web.Response(text="".join(f"{line}\n" for line in lines), content_type="text/plain")

    def _stamp_new(self, resource: references.resource, namespace: str | None, data: dict[str, Any]) -> None:
        meta = data.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        info = self.resources.get(resource) if resource in self.resources else None
        if namespace:
            meta["namespace"] = namespace
        meta["uid"] = str(uuid.uuid4())
        meta["resourceVersion"] = self.next_revision()
        meta["creationTimestamp"] = _now()
        meta["generation"] = 1
        if info is not None and info.kind and "kind" not in data:
            data["kind"] = info.kind
        data.setdefault("apiVersion", f"{resource.group}/{resource.version}".lstrip("/"))
        if resource == NAMESPACES:
            data.setdefault("status", {"phase": "Active"})
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")

    async def _update(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        key = (request.resource, request.namespace, request.name)
        content_type = request.headers.get("Content-Type", "")
        is_apply = "apply-patch" in content_type
        async with self._lock:
            exists = key in self._objects and not self._objects[key].deleted
            if not exists and not is_apply:
                raise k8s.KubernetesObjectNotFoundError()
            if not exists:
                new = copy.deepcopy(request.data or {})
                new.setdefault("metadata", {})["name"] = request.name
                self._stamp_new(request.resource, request.namespace, new)
                if request.resource == kube_crds.CRDS:
                    self._crd_admit(new)
                if key in self._objects:
                    self._objects[key].create(new)
                else:
                    self._objects[key] = new
                await self._buses[request.resource].put({"type": "ADDED", "object": copy.deepcopy(new)})
                if request.resource == kube_crds.CRDS:
                    await self._crd_withdraw(self._crd_serve(new))
                return aiohttp.web.json_response(new, status=201)
            current = copy.deepcopy(self._objects[key].raw)
            if request.method == "PUT":
                new = copy.deepcopy(request.data or {})
                if request.subresource == "status":
                    new = {**current, "status": new.get("status", {})}
            elif isinstance(request.data, list) or "json-patch" in content_type:
                try:
                    new = jsonpatch.apply_patch(current, request.data or [])
                except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
                    raise k8s.KubernetesError(status=422, reason="Invalid", message=str(e))
            else:
                new = merge_patch(current, request.data or {})
            meta = new.setdefault("metadata", {})
            old_meta = current.get("metadata", {})
            for field in ("name", "namespace", "uid", "creationTimestamp"):
                if field in old_meta:
                    meta[field] = old_meta[field]
            meta["resourceVersion"] = self.next_revision()
            generation = old_meta.get("generation", 1)
            if request.subresource is None and new.get("spec") != current.get("spec"):
                generation += 1
            meta["generation"] = generation
            new.setdefault("kind", current.get("kind"))
            if request.resource == kube_crds.CRDS and request.subresource is None:
                self._crd_admit(new)
            if meta.get("deletionTimestamp") and not meta.get("finalizers"):
                self._objects[key].create(new)
                self._objects[key].delete()
                await self._buses[request.resource].put({"type": "DELETED", "object": copy.deepcopy(new)})
            else:
                self._objects[key].create(new)
                await self._buses[request.resource].put({"type": "MODIFIED", "object": copy.deepcopy(new)})
            if request.resource == kube_crds.CRDS:
                gone = self._crd_serve(new) if not self._objects[key].deleted else \
                    {r for r, owner in self._crd_served.items() if owner == request.name}
                await self._crd_withdraw(gone)
        return aiohttp.web.json_response(new)

    async def _cascade_namespace(self, namespace: str | None) -> None:
        async with self._lock:
            for (resource, ns, _name), obj in list(self._objects.items()):
                if ns == namespace and not obj.deleted:
                    raw = obj.raw
                    obj.delete()
                    await self._buses[resource].put({"type": "DELETED", "object": raw})

    def _review_access(self, review: dict[str, Any]) -> dict[str, Any]:
        attrs_ = review.get("spec", {}).get("resourceAttributes", {})
        denied = []
        if self.rig_dir is not None:
            try:
                denied = json.loads((self.rig_dir / "rbac.json").read_text()).get("deny", [])
            except (OSError, ValueError):
                denied = []
        verb, resource = attrs_.get("verb", ""), attrs_.get("resource", "")
        allowed = not any(rule in (f"{verb} {resource}", f"* {resource}", f"{verb} *") for rule in denied)
        result = copy.deepcopy(review)
        result.setdefault("apiVersion", "authorization.k8s.io/v1")
        result.setdefault("kind", "SelfSubjectAccessReview")
        result["status"] = {"allowed": allowed, **({} if allowed else {"reason": "denied by the rig's rbac.json"})}
        return result

    # --- reading (defects 5, 6, 7, 8; selectors) -----------------------------------------------
    def _selected(self, request: rendering.Request, obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        label_selector = request.params.get("labelSelector")
        field_selector = request.params.get("fieldSelector")
        if label_selector and not label_selector_matches(label_selector, labels):
            return False
        if field_selector and not field_selector_matches(field_selector, obj):
            return False
        return True

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        if request.resource not in self._get_resources():
            raise k8s.KubernetesResourceNotFoundError()
        result = await super()._serve_list(request)
        info = self.resources.get(request.resource) if request.resource in self.resources else None
        kind = (info.kind if info is not None and info.kind else request.resource.plural.capitalize())
        group_version = f"{request.resource.group}/{request.resource.version}".lstrip("/")
        items = [item for item in result["items"] if self._selected(request, item)]
        for item in items:
            item.setdefault("kind", kind)
            item.setdefault("apiVersion", group_version)
        return {
            "apiVersion": group_version,
            "kind": f"{kind}List",
            "metadata": {"resourceVersion": str(self._last_revision)},
            "items": items,
        }

    async def _serve_watch(self, request: rendering.Request):  # type: ignore[override]
        """kmock's watch, but joined to the event bus *before* the snapshot of existing objects is taken:
        kmock joins after sending the snapshot, so a change made meanwhile was never sent (a watcher then
        waited forever for a status it had missed). Also honours timeoutSeconds, resourceVersion and
        selectors."""
        loop = asyncio.get_running_loop()
        timeout = request.params.get("timeoutSeconds")
        deadline = loop.time() + float(timeout) if timeout else None
        since = request.params.get("resourceVersion")
        since_revision = int(since) if since and since.isdigit() and since != "0" else None

        def wanted(obj: dict[str, Any]) -> bool:
            meta = obj.get("metadata") or {}
            if request.namespace is not None and meta.get("namespace") != request.namespace:
                return False
            if request.name is not None and meta.get("name") != request.name:
                return False
            if not self._selected(request, obj):
                return False
            revision = str(meta.get("resourceVersion", ""))
            return not (since_revision is not None and revision.isdigit() and int(revision) <= since_revision)

        bus = self._buses[request.resource]
        marker = await bus.mark()
        try:
            yield b""  # the headers go out now, even if nothing happens
            async with self._lock:
                snapshot = [copy.deepcopy(obj.raw) for (resource, _ns, _name), obj in self._objects.items()
                            if resource == request.resource and not obj.deleted]
            for obj in snapshot:
                if wanted(obj):
                    yield {"type": "ADDED", "object": obj}
            stream = bus.stream(since=marker).__aiter__()
            while True:
                remaining = None if deadline is None else deadline - loop.time()
                if remaining is not None and remaining <= 0:
                    return
                try:
                    item = await asyncio.wait_for(stream.__anext__(), remaining)
                except (TimeoutError, StopAsyncIteration):
                    return
                if isinstance(item, dict) and isinstance(item.get("object"), dict) and wanted(item["object"]):
                    yield item
        finally:
            await bus.unmark(marker)

    async def _serve_version(self, request: rendering.Request) -> rendering.Payload:
        result = await super()._serve_version(request)
        if request.resource is not None and request.resource.group == "":
            result["groupVersion"] = request.resource.version
        for entry in result["resources"]:
            if "/" in entry["name"]:
                entry["shortNames"] = []
                entry["categories"] = []
                if entry["name"].endswith("/scale"):
                    entry["kind"], entry["group"], entry["version"] = "Scale", "autoscaling", "v1"
        return result

    async def _serve_api(self, request: rendering.Request) -> rendering.Payload:
        return {"kind": "APIVersions", "apiVersion": "v1", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": request.url.host or ""}]}

    async def _serve_server_version(self, request: rendering.Request) -> rendering.Payload:
        major, minor, *_ = self.server_version.lstrip("v").split(".")
        return {
            "major": major, "minor": minor, "gitVersion": self.server_version,
            "gitCommit": "0" * 40, "gitTreeState": "clean", "buildDate": "2024-04-16T00:00:00Z",
            "goVersion": "go1.22.2", "compiler": "gc", "platform": "linux/amd64",
        }

    # --- in-process writers (rollout simulator) ------------------------------------------------
    async def store(self, resource: references.resource, namespace: str | None, obj: dict[str, Any],
                    subresource: bool = False) -> None:
        """Create or replace an object as a controller would, emitting the watch event."""
        obj = copy.deepcopy(obj)
        name = obj["metadata"]["name"]
        key = (resource, namespace, name)
        async with self._lock:
            if key in self._objects and not self._objects[key].deleted:
                meta = obj["metadata"]
                meta["resourceVersion"] = self.next_revision()
                self._objects[key].create(obj)
                event = "MODIFIED"
            else:
                self._stamp_new(resource, namespace, obj)
                if key in self._objects:
                    self._objects[key].create(obj)
                else:
                    self._objects[key] = obj
                event = "ADDED"
            await self._buses[resource].put({"type": event, "object": copy.deepcopy(obj)})

    async def remove(self, resource: references.resource, namespace: str | None, name: str) -> None:
        key = (resource, namespace, name)
        async with self._lock:
            if key in self._objects and not self._objects[key].deleted:
                raw = self._objects[key].raw
                self._objects[key].delete()
                await self._buses[resource].put({"type": "DELETED", "object": raw})

    # --- seeding --------------------------------------------------------------------------------
    def seed(self, objects: list[dict[str, Any]]) -> None:
        for obj in objects:
            api_version = obj["apiVersion"]
            group, _, version = api_version.rpartition("/")
            kind = obj["kind"]
            resource = next(
                r for r in self.resources
                if r.group == group and r.version == version and self.resources[r].kind == kind
            )
            obj = copy.deepcopy(obj)
            namespace = obj["metadata"].get("namespace")
            self._stamp_new(resource, namespace, obj)
            self._objects[resource, namespace, obj["metadata"]["name"]] = obj


async def serve(args: argparse.Namespace) -> None:
    from tests.rig.rollout import RolloutSimulator

    rig_dir = Path(args.dir)
    emulator = RigKubernetes(rig_dir=rig_dir, server_version=args.server_version)
    if args.seed:
        emulator.seed(json.loads(Path(args.seed).read_text()))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with emulator:
        server = aiohttp.web.Server(emulator)
        runner = aiohttp.web.ServerRunner(server, handle_signals=False)
        await runner.setup()
        ssl_context = None
        if args.tls_cert:
            import ssl

            ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
        site = aiohttp.web.TCPSite(runner, args.host, args.port, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        simulator = RolloutSimulator(emulator, rig_dir / "rollout.json")
        task = asyncio.create_task(simulator.run())
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(str(port))
        tmp.rename(args.port_file)
        await stop.wait()
        task.cancel()
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--seed")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--server-version", default=DEFAULT_SERVER_VERSION)
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    args = parser.parse_args()
    Path(args.dir, "kube.pid").write_text(str(os.getpid()))
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
