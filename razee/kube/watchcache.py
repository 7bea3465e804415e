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

This module holds the threads and locks; each copy is a razee.kube.watchstate.CopyState (plain state, which unit
tests drive directly) and each watch request a razee.kube.watchstream generator of decoded events.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import urllib3

from razee.backoff import WATCH, Retry
from razee.kube.client import Kube, Write
from razee.kube.discovery import Discovery, Resource
from razee.kube.errors import KubeError
from razee.kube.live import LiveState, list_with_version, read_live
from razee.kube.watchstate import CopyState, Failure, Phase, Scope, WatchFailed, parse_path, resource_version
from razee.kube.watchstream import open_watch, watch_events
from razee.objects import ObjectKey

log = logging.getLogger(__name__)

WATCH_TIMEOUT = (300, 600)
"""Seconds the server keeps one watch open (chosen at random in this range, as client-go does), then reopened."""


@dataclass
class ReadStats:
    """How the last pass read its scopes."""

    cached: int = 0
    listed: int = 0
    waited: float = 0.0


class _Stream:
    """One watched scope: its copy (a CopyState, guarded by `cond`) and the thread that keeps it current."""

    def __init__(self, cache: LiveCache, scope: Scope, items: Iterable[dict[str, Any]], version: int) -> None:
        self.cache = cache
        self.scope = scope
        self.state = CopyState.seeded(scope, items, version)
        self.max_age = cache.max_age * random.uniform(0.9, 1.1)
        self.cond = threading.Condition()
        self._response: urllib3.BaseHTTPResponse | None = None
        resource, namespace, _ = scope
        what = f"{resource.plural}{'.' + resource.group if resource.group else ''}"
        self.thread = threading.Thread(target=self._run, name=f"razee-watch {what} {namespace or '*'}", daemon=True)

    # -- read by a pass -----------------------------------------------------------------------------------------
    def snapshot(self, deadline: float) -> list[dict[str, Any]] | None:
        """The objects, once the copy is current (waiting until `deadline`); None if it is not by then."""
        with self.cond:
            while not self.state.current:
                left = deadline - time.monotonic()
                if left <= 0 or self.state.refused:
                    return None
                self.cond.wait(left)
            return self.state.take()

    def note_write(self, write: Write, seq: int) -> None:
        with self.cond:
            self.state.note_write(write, seq)

    def reset(self, items: Iterable[dict[str, Any]], version: int, seq: int) -> None:
        """Replace the copy with a LIST's snapshot (taken after write `seq`) and watch again from it."""
        with self.cond:
            stored = self.state.reset(items, version, seq)
            self.cond.notify_all()
            if stored is None:
                return  # the watch already delivered a newer state
            self.cache.count_stored(stored)
            response, self._response = self._response, None
        if response is not None:
            response.shutdown()  # the thread reopens the watch from the new version

    def stop(self) -> None:
        with self.cond:
            self.state.stop()
            response, self._response = self._response, None
            self.cond.notify_all()
        if response is not None:
            response.shutdown()

    # -- the watch thread ---------------------------------------------------------------------------------------
    def _run(self) -> None:
        retry = Retry(WATCH)  # the pauses between failed attempts (razee/backoff.py)
        while True:
            with self.cond:
                if self.state.stopped:
                    return
                due = self.state.due(time.monotonic(), self.max_age)
                generation = self.state.generation
            try:
                if due:
                    self._relist()
                    continue
                opened = time.monotonic()
                self._watch(generation)
                if time.monotonic() - opened > 1.0:
                    retry.succeeded()
                else:  # a server that ends every watch at once is not asked again in a tight loop
                    pause = retry.failed()
                    with self.cond:
                        if not self.state.stopped and generation == self.state.generation:
                            self.cond.wait(pause)
            except Exception as e:  # every failure means: look again, after a pause
                message = self._failed(e, generation)
                if message is None:
                    return
                if not message:
                    continue  # interrupted on purpose: a pass reseeded the copy
                pause = retry.failed()
                log.info("watch of %s: %s; again in %.1fs", self.thread.name[12:], message, pause)
                with self.cond:
                    if not self.state.stopped:
                        self.cond.wait(pause)

    def _relist(self) -> None:
        seq = self.cache.write_seq
        resource, namespace, selector = self.scope
        items, version = list_with_version(self.cache.kube(), resource, namespace or None, selector or None)
        parsed = resource_version(version)
        if parsed is None:
            raise WatchFailed(f"the server sent resourceVersion {version!r}, not a number")
        self.reset(items, parsed, seq)
        self.cache.count_relist()

    def _failed(self, e: Exception, generation: int) -> str | None:
        """Record a failed LIST or watch. Returns what failed (retried after a pause), "" when a pass reseeded the
        copy meanwhile (watched again at once), or None when the stream was stopped (the thread ends)."""
        with self.cond:
            self.state.closed()
            if self.state.stopped:
                return None
            if generation != self.state.generation:
                return ""
            message = e.message if isinstance(e, KubeError) else f"{type(e).__name__}: {e}"
            refused = isinstance(e, KubeError) and e.status in (403, 405)
            self.state.failed(Failure(message, refused), relist=isinstance(e, WatchFailed))
            self.cond.notify_all()
        return message

    def _watch(self, generation: int) -> None:
        """One watch request, from the copy's version until the server ends it."""
        with self.cond:
            version = self.state.version
        response = open_watch(self.cache.kube(), self.scope, version, random.randint(*WATCH_TIMEOUT))
        with self.cond:
            if self.state.stopped or generation != self.state.generation:
                response.close()
                return
            self._response = response
            self.state.opened()
            self.cond.notify_all()
        try:
            with closing(watch_events(response)) as events:
                for event in events:
                    with self.cond:
                        if generation != self.state.generation:  # not reached in practice: reset shuts the response
                            raise WatchFailed("superseded by a LIST")
                        self.cache.count_stored(self.state.apply(event))
                        self.cond.notify_all()
        finally:
            with self.cond:
                if self._response is response:
                    self._response = None
                self.state.closed()
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

    def count_relist(self) -> None:
        with self._lock:
            self.relists += 1

    @property
    def size(self) -> int:
        """Objects held, over every watched scope."""
        return sum(len(s.state.objects) for s in list(self._streams.values()))

    def pass_kube(self) -> Kube:
        """A Kube for one pass (its own request counter) on the cache's connection, which stays open between
        passes: an idle pass then opens no TLS connection."""
        return Kube(self.kube().connection, owns_connection=False)

    def kube(self) -> Kube:
        with self._lock:
            if self._kube is None:
                self._kube = self.connect()
            return self._kube

    def read(self, kube: Kube, discovery: Discovery, wanted: Iterable[tuple[ObjectKey, str]], target: str) -> LiveState:
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
            parsed = resource_version(version)
            if parsed is None:
                return found
            if stream is not None:
                stream.reset(found, parsed, seq)
            elif not self._closed:
                stream = _Stream(self, scope, found, parsed)
                self.count_stored(len(stream.state.objects))
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
        if not parse_path(write.path)[1]:
            return  # not an object's path: no copy holds what it wrote
        with self._lock:
            self.write_seq += 1
            seq = self.write_seq
        for stream in list(self._streams.values()):
            stream.note_write(write, seq)

    def healthy(self) -> bool:
        """Every copy is being watched and none is due for a LIST (what a pass needs, its own writes aside)."""
        streams = list(self._streams.values())
        return all(s.state.phase is Phase.WATCHING for s in streams)

    def watched(self) -> list[Scope]:
        return sorted(self._streams, key=lambda s: (s[0].group, s[0].plural, s[1], s[2]))

    def cached(self, key: ObjectKey) -> dict[str, Any] | None:
        """The copy of one object, from whichever watched scope holds it (for tests and diagnostics)."""
        for (res, ns, _), stream in list(self._streams.items()):
            if res.group == key.group and res.kind == key.kind and ns in ("", key.namespace):
                with stream.cond:
                    found = stream.state.objects.get((key.namespace, key.name))
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
