"""Deleting only what is provably ours, and knowing when it is really gone.

A delete carries the UID and resourceVersion razee planned with as preconditions, so it can only remove the very
object that was checked. When the object changed since (another spoke relabelled it, someone recreated it), it is
read again and its ownership checked again before a second try. A delete is done when the object is gone, not when
the server accepted the request: an object held by finalizers is "terminating" until then.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from razee.kube.client import Kube
from razee.kube.discovery import Resource
from razee.kube.errors import Conflict, NotFound
from razee.kube.inventory import INVENTORY_LABEL
from razee.kube.live import list_all
from razee.kube.objectmeta import finalizers, owner_of, uid_of
from razee.objects import ObjectKey

MAX_INTERVAL = 2.0


class Deleted(StrEnum):
    GONE = "gone"
    PENDING = "pending"  # accepted; finalizers still hold it
    NOT_OURS = "not-ours"  # relabelled for another spoke since the plan: razee lets go of it
    REPLACED = "replaced"  # another object of that name exists now: left alone


@dataclass(frozen=True)
class Target:
    key: ObjectKey
    resource: Resource
    live: dict[str, Any]


def _path(t: Target) -> str:
    return t.resource.object_path(t.key.namespace or None, t.key.name)


def _delete(kube: Kube, t: Target, live: dict[str, Any], propagation: str) -> Deleted:
    meta = live.get("metadata") or {}
    body = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "propagationPolicy": propagation,
        "preconditions": {"uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")},
    }
    answer = kube.request("DELETE", "DELETE", _path(t), None, body)
    if isinstance(answer, dict) and answer.get("kind") != "Status" and finalizers(answer):
        return Deleted.PENDING
    return Deleted.GONE


def delete_owned(kube: Kube, t: Target, owner: str, propagation: str = "Background") -> Deleted:
    """Delete `t` if it is still the object planned with and still labelled for `owner`."""
    live = t.live
    for _ in range(3):
        try:
            return _delete(kube, t, live, propagation)
        except NotFound:
            return Deleted.GONE
        except Conflict:  # a precondition failed: look again before deciding
            try:
                fresh = kube.request("GET", "GET", _path(t))
            except NotFound:
                return Deleted.GONE
            if uid_of(fresh) != uid_of(t.live):
                return Deleted.REPLACED
            if owner_of(fresh) != owner:
                return Deleted.NOT_OURS
            live = fresh
    return Deleted.PENDING


def _scope(t: Target) -> tuple[Any, ...]:
    """Targets polled by one LIST: same resource, namespace and owner label (razee's own, so the LIST is small)."""
    return (t.resource, t.key.namespace if t.resource.namespaced else "", owner_of(t.live))


def _still_there(kube: Kube, targets: list[Target]) -> dict[ObjectKey, dict[str, Any]]:
    """The targets (by UID) that still exist, with their live copies: one GET for a lone object, else one LIST."""
    if len(targets) == 1 or not owner_of(targets[0].live):
        out = {}
        for t in targets:
            try:
                obj = kube.request("GET", "GET", _path(t))
            except NotFound:
                continue
            if uid_of(obj) == uid_of(t.live):
                out[t.key] = obj
        return out
    first = targets[0]
    items = list_all(kube, first.resource, first.key.namespace or None, f"{INVENTORY_LABEL}={owner_of(first.live)}")
    by_uid = {uid_of(i): i for i in items}
    return {t.key: by_uid[uid_of(t.live)] for t in targets if uid_of(t.live) in by_uid}


def wait_gone(
    kube: Kube,
    targets: Iterable[Target],
    timeout: float,
    interval: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[ObjectKey, str]:
    """Objects still present after `timeout` seconds, each with why (its finalizers); empty when all are gone.

    Polled per scope (one LIST per resource and namespace, not one GET per object), at intervals growing from
    `interval` to MAX_INTERVAL: pruning 900 objects must not cost thousands of requests while finalizers run.
    """
    pending = {t.key: t for t in targets}
    stuck: dict[ObjectKey, str] = {}
    deadline = time.monotonic() + timeout
    while pending:
        groups: dict[tuple[Any, ...], list[Target]] = {}
        for t in pending.values():
            groups.setdefault(_scope(t), []).append(t)
        present: dict[ObjectKey, dict[str, Any]] = {}
        for group in groups.values():
            present.update(_still_there(kube, group))
        pending = {k: t for k, t in pending.items() if k in present}
        stuck = {}
        for key, obj in present.items():
            held = finalizers(obj)
            stuck[key] = f"waiting for finalizers {', '.join(held)}" if held else "still being deleted"
        if not pending or time.monotonic() >= deadline:
            break
        sleep(min(interval, max(deadline - time.monotonic(), 0)))
        interval = min(interval * 1.5, MAX_INTERVAL)
    return {k: v for k, v in stuck.items() if k in pending}
