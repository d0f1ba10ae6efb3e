"""One watch per kind and namespace, shared by every release waiting for readiness.

Polling each release's workloads every half second costs the API server a list per kind and
namespace per release per round: with DIGIT's 37 releases waiting at once that is hundreds of
requests a second, and a change is seen half a second late at best. Here each (kind, namespace)
is listed once and then watched from the list's resourceVersion; the objects are kept in memory
and every waiter is woken when anything changes, so a release is seen ready as soon as the API
says so. A watch that ends is resumed from the last version seen; a version too old (410), or a
watch the server refuses, is answered by listing again (after `relist_pause`).

    cache = ObjectCache(cluster)                  # cluster: installer.adapters.kube.KubeCluster
    cache.objects("Deployment", "egov")           # list of dicts; starts the watch on first use
    seen = cache.generation; cache.wait_for_change(seen, timeout=0.5)
    cache.close()
"""
from __future__ import annotations

import threading
import time
from typing import Any

from installer.adapters.kube import KubeCluster, KubeError

WATCH_SECONDS = 60.0  # each watch request's server-side timeout; the watch is then resumed


class _Informer:
    """The objects of one kind in one namespace, kept current by a watch thread."""

    def __init__(self, cache: ObjectCache, kind: str, namespace: str) -> None:
        self.cache, self.kind, self.namespace = cache, kind, namespace
        self.objects: dict[str | None, dict[str, Any]] = {}  # by name
        self.version = ""
        self.error: KubeError | None = None
        self._relist()  # synchronously: the first reader sees the current state, not an empty one
        self.thread = threading.Thread(target=self._run, name=f"watch-{kind}-{namespace}", daemon=True)
        self.thread.start()

    def _relist(self) -> None:
        items, version = self.cache.cluster.list_versioned(self.kind, self.namespace)
        with self.cache.changed:
            self.objects = {(item.get("metadata") or {}).get("name"): item for item in items}
            self.version = version
            self.error = None
            self.cache._bump()

    def _run(self) -> None:
        stale = False
        while not self.cache.closed:
            try:
                if stale:
                    self._relist()
                    stale = False
                for kind, obj in self.cache.cluster.watch(self.kind, self.namespace, resource_version=self.version,
                                                          timeout=self.cache.watch_seconds):
                    if self.cache.closed:
                        return
                    self._apply(kind, obj)
            except KubeError as error:  # 410 Gone, a refused or broken watch: start over from a list
                self.error, stale = error, True
                if self.cache.stop.wait(self.cache.relist_pause):
                    return
            except Exception as error:  # never let one watch thread die silently: list again later
                self.error, stale = KubeError(f"watch {self.kind} in {self.namespace}: {error}"), True
                if self.cache.stop.wait(self.cache.relist_pause):
                    return

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        with self.cache.changed:
            if meta.get("resourceVersion"):
                self.version = str(meta["resourceVersion"])
            if kind == "BOOKMARK":
                return
            if kind == "DELETED":
                self.objects.pop(meta.get("name"), None)
            else:
                self.objects[meta.get("name")] = obj
            self.cache._bump()


class ObjectCache:
    """Shared, watched copies of the objects readiness looks at; thread-safe."""

    def __init__(self, cluster: KubeCluster, *, watch_seconds: float = WATCH_SECONDS, relist_pause: float = 1.0):
        self.cluster = cluster
        self.watch_seconds = watch_seconds
        self.relist_pause = relist_pause
        self.changed = threading.Condition()
        self.generation = 0  # bumped on every change of any watched object
        self.stop = threading.Event()
        self._informers: dict[tuple[str, str], _Informer] = {}
        self._starting = threading.Lock()

    @property
    def closed(self) -> bool:
        return self.stop.is_set()

    def _bump(self) -> None:  # with self.changed held
        self.generation += 1
        self.changed.notify_all()

    def objects(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        """The current objects of a kind in a namespace (raises KubeError if they cannot be listed)."""
        key = (kind, namespace)
        informer = self._informers.get(key)
        if informer is None:
            with self._starting:
                informer = self._informers.get(key)
                if informer is None:
                    informer = self._informers[key] = _Informer(self, kind, namespace)
        with self.changed:
            if informer.error is not None and informer.error.status is None:
                raise informer.error  # the API stopped answering: say so rather than serve a stale copy
            return list(informer.objects.values())

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """Block until the generation moves past `seen` or `timeout` passes; returns the generation."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.generation == seen and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.changed.wait(remaining)
            return self.generation

    def watched(self) -> list[tuple[str, str]]:
        return sorted(self._informers)

    def close(self) -> None:
        self.stop.set()
        with self.changed:
            self.changed.notify_all()
