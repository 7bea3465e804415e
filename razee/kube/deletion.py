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
from razee.kube.desired import finalizers, owner_of, uid_of
from razee.kube.discovery import Resource
from razee.kube.errors import Conflict, NotFound
from razee.render.manifest import ObjectKey


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
    body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation,
            "preconditions": {"uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}}
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


def wait_gone(kube: Kube, targets: Iterable[Target], timeout: float, interval: float = 0.5,
              sleep: Callable[[float], None] = time.sleep) -> dict[ObjectKey, str]:
    """Objects still present after `timeout` seconds, each with why (its finalizers); empty when all are gone."""
    pending = {t.key: t for t in targets}
    stuck: dict[ObjectKey, str] = {}
    deadline = time.monotonic() + timeout
    while pending:
        stuck = {}
        for key, t in list(pending.items()):
            try:
                obj = kube.request("GET", "GET", _path(t))
            except NotFound:
                del pending[key]
                continue
            if uid_of(obj) != uid_of(t.live):
                del pending[key]  # gone, and something new took the name
                continue
            held = finalizers(obj)
            stuck[key] = f"waiting for finalizers {', '.join(held)}" if held else "still being deleted"
        if not pending or time.monotonic() >= deadline:
            break
        sleep(interval)
    return {k: v for k, v in stuck.items() if k in pending}
