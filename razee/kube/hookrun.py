"""Running a hook once it is written: waiting until it completed, and deleting it as its delete policy says.

A Job hook is done when the Job is Complete and has failed when it is Failed (its backoffLimit or
activeDeadlineSeconds spent); a Pod hook when its phase is Succeeded or Failed. Any other kind (a ConfigMap, a
ServiceAccount) is done once it is written, as in Helm. razee polls each hook with one GET at intervals growing
from 0.2 s to 2 s: a chart has a handful of hooks, not thousands.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from razee.kube.client import Kube
from razee.kube.deletion import Deleted, Target, delete_owned, wait_gone
from razee.kube.discovery import Resource
from razee.kube.errors import NotFound
from razee.kube.objectmeta import owner_of
from razee.objects import ObjectKey

MAX_INTERVAL = 2.0


@dataclass(frozen=True)
class Outcome:
    """How a hook ended: `ok`, and why not; `live` is its last copy (None once it is gone)."""

    ok: bool
    why: str = ""
    live: dict[str, Any] | None = None


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c.get("type", ""): c for c in (obj.get("status") or {}).get("conditions") or []}


def ended(obj: dict[str, Any]) -> tuple[bool | None, str]:
    """(True, "") when the hook completed, (False, why) when it failed, (None, what it waits for) while it runs."""
    kind = obj.get("kind")
    status = obj.get("status") or {}
    if kind == "Job" and str(obj.get("apiVersion")) == "batch/v1":
        conditions = _conditions(obj)
        failed = conditions.get("Failed") or {}
        if failed.get("status") == "True":
            return False, f"job failed: {failed.get('reason', '')} {failed.get('message', '')}".strip()
        if (conditions.get("Complete") or {}).get("status") == "True":
            return True, ""
        return None, f"job running ({status.get('active', 0)} active, {status.get('failed', 0)} failed pods)"
    if kind == "Pod" and str(obj.get("apiVersion")) == "v1":
        phase = status.get("phase") or "Pending"
        if phase == "Succeeded":
            return True, ""
        if phase == "Failed":
            return False, f"pod failed: {status.get('reason') or status.get('message') or 'phase Failed'}"
        return None, f"pod {phase}"
    return True, ""


def _path(key: ObjectKey, res: Resource) -> str:
    return res.object_path(key.namespace or None, key.name)


def wait_hooks(
    kube: Kube,
    hooks: list[tuple[ObjectKey, Resource]],
    timeout: float,
    interval: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[ObjectKey, Outcome]:
    """The outcome of each hook once all ended, or after `timeout` seconds (a hook still running has failed)."""
    pending = dict(hooks)
    out: dict[ObjectKey, Outcome] = {}
    waiting: dict[ObjectKey, tuple[str, dict[str, Any]]] = {}
    deadline = time.monotonic() + timeout
    while pending:
        for key, res in list(pending.items()):
            try:
                obj = kube.request("GET", "GET", _path(key, res))
            except NotFound:
                out[key] = Outcome(False, "deleted by someone else before it completed")
                del pending[key]
                continue
            done, why = ended(obj)
            if done is None:
                waiting[key] = (why, obj)
                continue
            out[key] = Outcome(done, why, obj)
            del pending[key]
        if not pending or time.monotonic() >= deadline:
            break
        sleep(min(interval, max(deadline - time.monotonic(), 0)))
        interval = min(interval * 1.5, MAX_INTERVAL)
    for key in pending:
        why, obj = waiting[key]
        out[key] = Outcome(False, f"not complete after {timeout:.0f}s: {why}", obj)
    return out


def delete_hook(kube: Kube, key: ObjectKey, res: Resource, live: dict[str, Any], timeout: float) -> str | None:
    """Delete a hook that ran (its delete policy asks for it) and wait until it is gone; why not, if it is not."""
    target = Target(key, res, live)
    outcome = delete_owned(kube, target, owner_of(live))
    if outcome in (Deleted.NOT_OURS, Deleted.REPLACED):
        return "changed in the cluster since it ran; left in place"
    stuck = wait_gone(kube, [target], timeout) if outcome == Deleted.PENDING else {}
    return stuck.get(key)
