"""The copy of one watched scope, as plain state: its objects, its resourceVersion, the writes it must reflect.

No thread, lock or connection lives here (razee.kube.watchcache holds those, razee.kube.watchstream reads the
events): every change of the copy is a method call, so a unit test drives it event by event and reads it through
the same properties a pass uses. Callers serialise access (the watch cache holds its condition's lock).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from razee.kube.client import Write
from razee.kube.discovery import Resource
from razee.kube.objectmeta import finalizers, uid_of

Scope = tuple[Resource, str, str]
"""(resource, namespace or "" for all, label selector or "")."""
Name = tuple[str, str]
"""(namespace, name) of an object within one resource."""


class WatchFailed(Exception):
    """The watch cannot continue from its resourceVersion (410 Gone, an ERROR event): LIST again."""


class Phase(StrEnum):
    """Where the copy's watch stands; only a WATCHING copy can be current."""

    OPENING = "opening"
    """No watch open: one is being (re)opened from the copy's version, or waits out a backoff."""
    WATCHING = "watching"
    RELIST = "relist"
    """The copy cannot be continued from its version (410 Gone, an ERROR event): it is LISTed again."""
    STOPPED = "stopped"
    """No pass reads this scope any more, or the cache closed: never watched again."""


@dataclass(frozen=True)
class Failure:
    """Why the last attempt to LIST or watch the scope failed."""

    message: str
    refused: bool = False
    """The server does not let razee watch this scope (403, 405): passes LIST it rather than wait."""


def resource_version(value: Any) -> int | None:
    """A resourceVersion as a number; the apiserver's are etcd revisions, and a pass compares them."""
    try:
        return int(str(value))
    except ValueError:
        return None


def name_of(obj: dict[str, Any]) -> Name:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def matches_selector(selector: str, obj: dict[str, Any]) -> bool:
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


def parse_path(path: str) -> tuple[str, str, str, str]:
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


@dataclass
class Fence:
    """A write this copy must reflect before a pass may read it."""

    name: Name
    version: int | None = None  # an apply (or a deletion held by finalizers): the version the server answered
    uid: str = ""  # a deletion: gone once no object of this UID (or of this name, when "") is in the copy
    in_scope: bool = True  # False: the written object does not match the scope's selector (it must be absent)
    unknown: bool = False  # the write failed midway: only a LIST started after it tells what happened
    seq: int = 0

    def met(self, copy: CopyState) -> bool:
        if self.unknown:
            return False
        current = copy.objects.get(self.name)
        if self.version is not None:
            return copy.version >= self.version or (not self.in_scope and current is None)
        return current is None or bool(self.uid and uid_of(current) != self.uid)


def fence_for(write: Write, seq: int, scope: Scope) -> Fence | None:
    """What `write` (razee's `seq`-th) obliges the copy of `scope` to show; None when it is outside the scope."""
    group, plural, namespace, name = parse_path(write.path)
    resource, scope_namespace, selector = scope
    if not plural or resource.group != group or resource.plural != plural:
        return None
    answer = write.answer if isinstance(write.answer, dict) else None
    meta = (answer or {}).get("metadata") or {}
    an_object = answer is not None and answer.get("kind") != "Status"
    if an_object:
        namespace, name = str(meta.get("namespace") or namespace), str(meta.get("name") or name)
    if scope_namespace and scope_namespace != namespace:
        return None
    if write.answer is None:
        return Fence((namespace, name), unknown=True, seq=seq)
    if write.verb == "DELETE" and not (an_object and finalizers(answer or {})):
        uid = ((write.body or {}).get("preconditions") or {}).get("uid") if isinstance(write.body, dict) else ""
        return Fence((namespace, name), uid=str(uid or ""), seq=seq)
    version = resource_version(meta.get("resourceVersion"))
    if version is None:
        return Fence((namespace, name), unknown=True, seq=seq)
    return Fence(
        (namespace, name), version=version, in_scope=answer is not None and matches_selector(selector, answer), seq=seq
    )


@dataclass
class CopyState:
    """One scope's copy: what a LIST returned, advanced by watch events, with the writes it must still show."""

    scope: Scope
    objects: dict[Name, dict[str, Any]]
    version: int
    phase: Phase = Phase.OPENING
    failure: Failure | None = None
    generation: int = 0
    """Counts the LISTs that reseeded the copy: a watch opened before one of them is not continued."""
    fences: list[Fence] = field(default_factory=list)
    listed_at: float = field(default_factory=time.monotonic)

    @classmethod
    def seeded(cls, scope: Scope, items: Iterable[dict[str, Any]], version: int) -> CopyState:
        return cls(scope, {name_of(o): o for o in items}, version)

    @property
    def current(self) -> bool:
        """A pass may read the copy: its watch is open and it shows every write razee made."""
        return self.phase is Phase.WATCHING and all(f.met(self) for f in self.fences)

    @property
    def stopped(self) -> bool:
        return self.phase is Phase.STOPPED

    @property
    def refused(self) -> bool:
        return self.failure is not None and self.failure.refused

    def due(self, now: float, max_age: float) -> bool:
        """Whether the copy must be LISTed (rather than watched on) before it can be trusted."""
        return self.phase is Phase.RELIST or now - self.listed_at > max_age

    def take(self) -> list[dict[str, Any]]:
        """The objects, for a pass that found the copy current; its fences are then met for good."""
        self.fences = []
        return list(self.objects.values())

    def add_fence(self, fence: Fence) -> None:
        if not fence.met(self):
            self.fences.append(fence)

    def note_write(self, write: Write, seq: int) -> None:
        fence = fence_for(write, seq, self.scope)
        if fence is not None:
            self.add_fence(fence)

    def opened(self) -> None:
        """The watch is open, from the copy's version."""
        if self.phase is not Phase.STOPPED:
            self.phase, self.failure = Phase.WATCHING, None

    def closed(self) -> None:
        """The watch ended (the server's timeout, a reseed, an error): it is reopened from the copy's version."""
        if self.phase is Phase.WATCHING:
            self.phase = Phase.OPENING

    def failed(self, failure: Failure, relist: bool) -> None:
        """A LIST or watch failed; `relist`: the copy cannot go on from its version."""
        if self.phase is not Phase.STOPPED:
            self.phase = Phase.RELIST if relist or self.phase is Phase.RELIST else Phase.OPENING
            self.failure = failure

    def stop(self) -> None:
        self.phase = Phase.STOPPED

    def reset(self, items: Iterable[dict[str, Any]], version: int, seq: int) -> int | None:
        """Replace the copy with a LIST's snapshot (taken after write `seq`): the objects stored, or None when the
        watch already delivered a newer state and the snapshot is dropped."""
        # a write whose outcome was unknown is settled by a LIST that started after it
        self.fences = [f for f in self.fences if not (f.unknown and f.seq < seq)]
        if version < self.version and self.phase is not Phase.RELIST:
            return None
        self.objects = {name_of(o): o for o in items}
        self.version = version
        if self.phase is Phase.RELIST:
            self.phase = Phase.OPENING
        self.listed_at = time.monotonic()
        self.generation += 1
        self.fences = [f for f in self.fences if not f.met(self)]
        return len(self.objects)

    def apply(self, event: dict[str, Any]) -> int:
        """One watch event; returns how many objects it stored (for the cache's count of new long-lived data)."""
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            raise WatchFailed(f"{obj.get('code', '?')} {obj.get('reason', '')}: {obj.get('message', '')}")
        version = resource_version((obj.get("metadata") or {}).get("resourceVersion"))
        if version is None:
            raise WatchFailed(f"a {kind} event without a numeric resourceVersion")
        stored = 0
        if kind in ("ADDED", "MODIFIED"):
            resource = self.scope[0]
            obj.setdefault("apiVersion", resource.api_version)
            obj.setdefault("kind", resource.kind)
            self.objects[name_of(obj)] = obj
            stored = 1
        elif kind == "DELETED":
            self.objects.pop(name_of(obj), None)
        self.version = max(self.version, version)
        return stored
