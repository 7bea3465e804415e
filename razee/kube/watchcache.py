"""Live state for a long-running agent, kept current by watches instead of LISTed again on every pass.

Each scope that `read_live` reads (a resource, cluster-wide or in one namespace, with or without razee's inventory
label selector) is LISTed once, then WATCHed from that list's resourceVersion on a thread of its own. ADDED,
MODIFIED and DELETED events update the copy, BOOKMARKs advance its resourceVersion. A pass then reads a scope from
its copy, without a request, when the copy is known to be current:

- its watch is open (not reconnecting, backing off or due for a fresh LIST), and
- it has caught up with every write razee made to that scope since the copy was last read: for an apply, the
  watch delivered the resourceVersion the server answered with; for a deletion, the object (by UID) is gone.

A pass waits up to `catch_up` seconds for that, and otherwise LISTs the scope itself, which also reseeds the copy
and restarts its watch from the LIST. A watch that ends (the server's timeout) is reopened from the last
resourceVersion seen; a 410 Gone ("too old resource version"), an ERROR event or a broken connection makes the
copy stale: it is LISTed again, with backoff while the server cannot be reached. Every copy is also LISTed again
after `max_age` seconds, so an event lost to a bug cannot hide drift for long.

A change somebody else makes is seen by the first pass that starts after its watch event arrived (usually within
milliseconds); a change made in that window is seen by the next pass, as one made just after a LIST would be.

Objects are stored as the server sends them (managedFields included: the planner needs them to tell drift from
another apply manager's fields) and handed to the planner without a copy; nothing downstream changes a live
object in place. Scopes that a pass no longer reads are no longer watched.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import urllib3

from razee.kube.client import Kube, Write
from razee.kube.desired import finalizers, uid_of
from razee.kube.discovery import Discovery, Resource
from razee.kube.errors import KubeError
from razee.kube.live import LiveState, list_with_version, read_live
from razee.objects import ObjectKey

log = logging.getLogger(__name__)

WATCH_TIMEOUT = (300, 600)
"""Seconds the server keeps one watch open (chosen at random in this range, as client-go does), then reopened."""
BACKOFF_MAX = 30.0

Scope = tuple[Resource, str, str]
"""(resource, namespace or "" for all, label selector or "")."""
Name = tuple[str, str]
"""(namespace, name) of an object within one resource."""


class _WatchFailed(Exception):
    """The watch cannot continue from its resourceVersion (410 Gone, an ERROR event): LIST again."""


def _version(value: Any) -> int | None:
    """A resourceVersion as a number; the apiserver's are etcd revisions, and a pass compares them."""
    try:
        return int(str(value))
    except ValueError:
        return None


def _name(obj: dict[str, Any]) -> Name:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _matches(selector: str, obj: dict[str, Any]) -> bool:
    """Whether the object carries the labels of an equality selector (`a=b,c=d`, what razee uses)."""
    if not selector:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in selector.split(","):
        key, eq, value = term.partition("=")
        if not eq or key.endswith("!"):
            return True  # not an equality term: assume it matches, so the write is waited for
        if labels.get(key.strip()) != value.strip().lstrip("="):
            return False
    return True


@dataclass
class _Fence:
    """A write this copy must reflect before a pass may read it."""

    name: Name
    version: int | None = None  # an apply (or a deletion held by finalizers): the version the server answered
    uid: str = ""  # a deletion: gone once no object of this UID (or of this name, when "") is in the copy
    in_scope: bool = True  # False: the written object does not match the scope's selector (it must be absent)
    unknown: bool = False  # the write failed midway: only a LIST started after it tells what happened
    seq: int = 0

    def met(self, stream: _Stream) -> bool:
        if self.unknown:
            return False
        current = stream.objects.get(self.name)
        if self.version is not None:
            return stream.version >= self.version or (not self.in_scope and current is None)
        return current is None or bool(self.uid and uid_of(current) != self.uid)


@dataclass
class ReadStats:
    """How the last pass read its scopes."""

    cached: int = 0
    listed: int = 0
    waited: float = 0.0


class _Stream:
    """One watched scope: a copy of its objects and the thread that keeps it current."""

    def __init__(self, cache: LiveCache, scope: Scope, items: Iterable[dict[str, Any]], version: int) -> None:
        self.cache = cache
        self.resource, self.namespace, self.selector = scope
        self.objects: dict[Name, dict[str, Any]] = {_name(o): o for o in items}
        self.version = version
        self.generation = 0
        self.watching = False
        self.relist = False
        self.stopped = False
        self.refused = False  # the server does not let razee watch this scope (403, 405): passes LIST it
        self.fences: list[_Fence] = []
        self.error = ""
        self.listed_at = time.monotonic()
        self.max_age = cache.max_age * random.uniform(0.9, 1.1)
        self.cond = threading.Condition()
        self._response: urllib3.BaseHTTPResponse | None = None
        what = f"{self.resource.plural}{'.' + self.resource.group if self.resource.group else ''}"
        self.thread = threading.Thread(target=self._run, name=f"razee-watch {what} {self.namespace or '*'}",
                                       daemon=True)

    # -- read by a pass -----------------------------------------------------------------------------------------
    def current(self) -> bool:
        """Called with the lock held."""
        return self.watching and not self.relist and not self.stopped and all(f.met(self) for f in self.fences)

    def snapshot(self, deadline: float) -> list[dict[str, Any]] | None:
        """The objects, once the copy is current (waiting until `deadline`); None if it is not by then."""
        with self.cond:
            while not self.current():
                left = deadline - time.monotonic()
                if left <= 0 or self.refused:
                    return None
                self.cond.wait(left)
            self.fences = []
            return list(self.objects.values())

    def add_fence(self, fence: _Fence) -> None:
        with self.cond:
            if not fence.met(self):
                self.fences.append(fence)

    def reset(self, items: Iterable[dict[str, Any]], version: int, seq: int) -> None:
        """Replace the copy with a LIST's snapshot (taken after write `seq`) and watch again from it."""
        with self.cond:
            # a write whose outcome was unknown is settled by a LIST that started after it
            self.fences = [f for f in self.fences if not (f.unknown and f.seq < seq)]
            if version < self.version and not self.relist:
                self.cond.notify_all()
                return  # the watch already delivered a newer state
            self.objects = {_name(o): o for o in items}
            self.cache.count_stored(len(self.objects))
            self.version = version
            self.relist = False
            self.listed_at = time.monotonic()
            self.generation += 1
            self.fences = [f for f in self.fences if not f.met(self)]
            response, self._response = self._response, None
            self.cond.notify_all()
        if response is not None:
            response.shutdown()  # the thread reopens the watch from the new version

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            response, self._response = self._response, None
            self.cond.notify_all()
        if response is not None:
            response.shutdown()

    # -- the watch thread ---------------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.0
        while True:
            with self.cond:
                if self.stopped:
                    return
                due = self.relist or time.monotonic() - self.listed_at > self.max_age
                generation = self.generation
            try:
                if due:
                    seq = self.cache.write_seq
                    items, version = list_with_version(self.cache.kube(), self.resource, self.namespace or None,
                                                       self.selector or None)
                    parsed = _version(version)
                    if parsed is None:
                        raise _WatchFailed(f"the server sent resourceVersion {version!r}, not a number")
                    self.reset(items, parsed, seq)
                    with self.cache._lock:
                        self.cache.relists += 1
                    continue
                opened = time.monotonic()
                self._watch(generation)
                if time.monotonic() - opened > 1.0:
                    backoff = 0.0
                else:  # a server that ends every watch at once is not asked again in a tight loop
                    backoff = min(max(0.5, backoff * 2), BACKOFF_MAX)
                    with self.cond:
                        if not self.stopped and generation == self.generation:
                            self.cond.wait(backoff)
            except Exception as e:  # every failure means: look again, after a pause
                with self.cond:
                    self.watching = False
                    if self.stopped:
                        return
                    if generation != self.generation:
                        continue  # interrupted on purpose: a pass reseeded the copy
                    self.relist = self.relist or isinstance(e, _WatchFailed)
                    self.refused = isinstance(e, KubeError) and e.status in (403, 405)
                    self.error = e.message if isinstance(e, KubeError) else f"{type(e).__name__}: {e}"
                    self.cond.notify_all()
                backoff = min(max(0.5, backoff * 2), BACKOFF_MAX)
                log.info("watch of %s: %s; again in %.1fs", self.thread.name[12:], self.error, backoff)
                with self.cond:
                    if not self.stopped:
                        self.cond.wait(backoff * random.uniform(0.8, 1.2))

    def _watch(self, generation: int) -> None:
        """One watch request, from the copy's version until the server ends it."""
        timeout = random.randint(*WATCH_TIMEOUT)
        with self.cond:
            query = {"watch": "1", "resourceVersion": str(self.version), "allowWatchBookmarks": "true",
                     "timeoutSeconds": str(timeout)}
        if self.selector:
            query["labelSelector"] = self.selector
        try:
            response = self.cache.kube().stream("WATCH", self.resource.collection_path(self.namespace or None),
                                                query, read_timeout=timeout + 30)
        except KubeError as e:
            if e.status == 410:
                raise _WatchFailed(e.message) from e
            raise
        with self.cond:
            if self.stopped or generation != self.generation:
                response.close()
                return
            self._response = response
            self.watching = True
            self.refused = False
            self.error = ""
            self.cond.notify_all()
        complete = False
        try:
            pending = bytearray()
            for chunk in response.stream(1 << 16):
                pending += chunk
                start = 0
                while (end := pending.find(b"\n", start)) >= 0:
                    if end > start:
                        self._event(orjson.loads(pending[start:end]), generation)
                    start = end + 1
                del pending[:start]
            if pending.strip():
                self._event(orjson.loads(pending), generation)
            complete = True
        finally:
            with self.cond:
                if self._response is response:
                    self._response = None
                self.watching = False
                self.cond.notify_all()
            if complete:
                response.release_conn()  # read to its end: the connection can serve another request
            else:
                response.close()  # unread bytes would corrupt the next request on this connection

    def _event(self, event: dict[str, Any], generation: int) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            raise _WatchFailed(f"{obj.get('code', '?')} {obj.get('reason', '')}: {obj.get('message', '')}")
        version = _version((obj.get("metadata") or {}).get("resourceVersion"))
        if version is None:
            raise _WatchFailed(f"a {kind} event without a numeric resourceVersion")
        with self.cond:
            if generation != self.generation:
                raise _WatchFailed("superseded by a LIST")  # not reached in practice: reset shuts the response
            if kind in ("ADDED", "MODIFIED"):
                obj.setdefault("apiVersion", self.resource.api_version)
                obj.setdefault("kind", self.resource.kind)
                self.objects[_name(obj)] = obj
                self.cache.count_stored(1)
            elif kind == "DELETED":
                self.objects.pop(_name(obj), None)
            self.version = max(self.version, version)
            self.cond.notify_all()


@dataclass
class LiveCache:
    """Watched copies of the scopes an agent's passes read; see the module docstring."""

    connect: Callable[[], Kube]
    """Opens the cache's own connection, used by the watches (a pass's connection is closed when it ends)."""
    catch_up: float = 5.0
    """Seconds a pass waits for a copy to catch up with razee's own writes before it LISTs instead."""
    max_age: float = 3600.0
    """Seconds after which a copy is LISTed again even though its watch reported nothing wrong."""
    last: ReadStats = field(default_factory=ReadStats)
    write_seq: int = 0
    stored: int = 0
    """Objects stored so far by LISTs and events: how much new long-lived data the copies took in."""
    relists: int = 0
    """LISTs the watch threads made because a watch could not go on (410 Gone, errors) or a copy grew old."""
    _kube: Kube | None = None
    _streams: dict[Scope, _Stream] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False

    def count_stored(self, n: int) -> None:
        with self._lock:
            self.stored += n

    @property
    def size(self) -> int:
        """Objects held, over every watched scope."""
        return sum(len(s.objects) for s in list(self._streams.values()))

    def pass_kube(self) -> Kube:
        """A Kube for one pass (its own request counter) on the cache's connection, which stays open between
        passes: an idle pass then opens no TLS connection."""
        return Kube(self.kube().connection, owns_connection=False)

    def kube(self) -> Kube:
        with self._lock:
            if self._kube is None:
                self._kube = self.connect()
            return self._kube

    def read(self, kube: Kube, discovery: Discovery, wanted: Iterable[tuple[ObjectKey, str]],
             target: str) -> LiveState:
        """What `read_live` returns, from the watched copies where they are current, else by LIST."""
        if self._closed or self.kube().server != kube.server:  # another cluster than the one watched: LIST
            return read_live(kube, discovery, wanted, target)
        stats = ReadStats()
        used: set[Scope] = set()
        deadline = time.monotonic() + self.catch_up
        lock = threading.Lock()  # read_live reads scopes side by side

        def lister(k: Kube, res: Resource, namespace: str | None, selector: str | None) -> list[Any]:
            scope = (res, namespace or "", selector or "")
            with lock:
                used.add(scope)
                stream = self._streams.get(scope)
            if stream is not None:
                t0 = time.monotonic()
                items = stream.snapshot(deadline)
                with lock:
                    stats.waited += time.monotonic() - t0
                    stats.cached += items is not None
                if items is not None:
                    return items
            seq = self.write_seq
            found, version = list_with_version(k, res, namespace, selector)
            with lock:
                stats.listed += 1
            parsed = _version(version)
            if parsed is None:
                return found
            if stream is not None:
                stream.reset(found, parsed, seq)
            elif not self._closed:
                stream = _Stream(self, scope, found, parsed)
                self.count_stored(len(stream.objects))
                with lock:
                    self._streams[scope] = stream
                stream.thread.start()
            return found

        state = read_live(kube, discovery, wanted, target, lister)
        for scope in set(self._streams) - used:
            self._streams.pop(scope).stop()
        self.last = stats
        return state

    def note_write(self, write: Write) -> None:
        """A Kube write observer: remember what each affected copy must reflect before a pass reads it."""
        group, plural, namespace, name = _parse_path(write.path)
        if not plural:
            return
        answer = write.answer if isinstance(write.answer, dict) else None
        meta = (answer or {}).get("metadata") or {}
        if answer is not None and answer.get("kind") != "Status":
            namespace, name = str(meta.get("namespace") or namespace), str(meta.get("name") or name)
        with self._lock:
            self.write_seq += 1
            seq = self.write_seq
        for (res, ns, selector), stream in list(self._streams.items()):
            if res.group != group or res.plural != plural or (ns and ns != namespace):
                continue
            if write.answer is None:
                fence = _Fence((namespace, name), unknown=True, seq=seq)
            elif write.verb == "DELETE" and not (answer is not None and answer.get("kind") != "Status"
                                                  and finalizers(answer)):
                uid = ((write.body or {}).get("preconditions") or {}).get("uid") if isinstance(write.body, dict) else ""
                fence = _Fence((namespace, name), uid=str(uid or ""), seq=seq)
            else:
                version = _version(meta.get("resourceVersion"))
                if version is None:
                    fence = _Fence((namespace, name), unknown=True, seq=seq)
                else:
                    fence = _Fence((namespace, name), version=version,
                                   in_scope=answer is not None and _matches(selector, answer), seq=seq)
            stream.add_fence(fence)

    def healthy(self) -> bool:
        """Every copy is being watched and none is due for a LIST (what a pass needs, its own writes aside)."""
        streams = list(self._streams.values())
        return all(s.watching and not s.relist for s in streams)

    def watched(self) -> list[Scope]:
        return sorted(self._streams, key=lambda s: (s[0].group, s[0].plural, s[1], s[2]))

    def cached(self, key: ObjectKey) -> dict[str, Any] | None:
        """The copy of one object, from whichever watched scope holds it (for tests and diagnostics)."""
        for (res, ns, _), stream in list(self._streams.items()):
            if res.group == key.group and res.kind == key.kind and ns in ("", key.namespace):
                with stream.cond:
                    found = stream.objects.get((key.namespace, key.name))
                if found is not None:
                    return found
        return None

    def close(self) -> None:
        """Stop every watch and wait for its thread; later reads LIST, as without a cache."""
        self._closed = True
        streams = list(self._streams.values())
        self._streams.clear()
        for stream in streams:
            stream.stop()
        for stream in streams:
            stream.thread.join(timeout=10)
        with self._lock:
            if self._kube is not None:
                self._kube.close()
                self._kube = None


def _parse_path(path: str) -> tuple[str, str, str, str]:
    """(group, plural, namespace, name) of an object or collection path; plural is "" when not one."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return "", "", "", ""
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return "", "", "", ""
    if rest[0] == "namespaces" and len(rest) >= 2:  # a Namespace itself: /api/v1/namespaces/NAME[/status]
        return group, "namespaces", "", rest[1]
    return group, rest[0], namespace, rest[1] if len(rest) > 1 else ""
