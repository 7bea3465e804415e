"""Server-side apply, and what its dry run tells the plan: conflicts, field takeovers and immutable fields."""

from __future__ import annotations

import contextlib
import re
from typing import Any, Literal

from razee.kube.client import FIELD_MANAGER, Kube
from razee.kube.discovery import Resource
from razee.kube.errors import Conflict, KubeError, Unavailable, immutable_fields
from razee.kube.fieldowners import HANDOVER_MANAGER
from razee.kube.objectmeta import RECREATE_ANNOTATION, wants_force, wants_recreate
from razee.plan.model import Action, Change
from razee.plan.view import clean

APPLY_PATCH = "application/apply-patch+yaml"
ConflictPolicy = Literal["takeover", "refuse"]

_CONFLICT_MANAGER = re.compile(r'conflict with "([^"]+)"')


def server_side_apply(
    kube: Kube, res: Resource, obj: dict[str, Any], *, dry_run: bool, force: bool, manager: str = FIELD_MANAGER
) -> Any:
    meta = obj["metadata"]
    query = {"fieldManager": manager}
    if force:
        query["force"] = "true"
    if dry_run:
        query["dryRun"] = "All"
    ns = meta.get("namespace") if res.namespaced else None
    return kube.request(
        "DRYRUN" if dry_run else "APPLY", "PATCH", res.object_path(ns, meta["name"]), query, obj, APPLY_PATCH
    )


def hand_over(kube: Kube, res: Resource, patch: dict[str, Any]) -> None:
    """Give the fields razee stops sending (razee.io/ignore-fields) to the manager `razee-handover`, at their live
    values, so that razee's next apply without them keeps them instead of deleting them.

    A conflict means another manager changed such a field since the plan, and so owns it already: nothing to do.
    """
    with contextlib.suppress(Conflict):
        server_side_apply(kube, res, patch, dry_run=False, force=False, manager=HANDOVER_MANAGER)


def conflict_fields(e: Conflict) -> list[str]:
    causes = e.details.get("causes") or []
    found = [f"{c.get('field', '?')}: {c.get('message', '')}".strip() for c in causes]
    return found or [e.message]


def takeovers(e: Conflict) -> list[dict[str, str]]:
    """The fields a forced apply takes, and from which manager: `{"path": ".data.x", "manager": "kubectl"}`."""
    out = []
    for cause in e.details.get("causes") or []:
        for manager in _CONFLICT_MANAGER.findall(str(cause.get("message", ""))) or ["?"]:
            out.append({"path": str(cause.get("field") or "?"), "manager": manager})
    return out


def only_imperative_managers(e: Conflict, live: dict[str, Any]) -> bool:
    """True when every manager in the conflict wrote with Update (kubectl edit, scale), none with Apply."""
    names = {m for cause in e.details.get("causes") or [] for m in _CONFLICT_MANAGER.findall(cause.get("message", ""))}
    if not names:
        return False
    ops = {(m.get("manager"), m.get("operation")) for m in (live.get("metadata") or {}).get("managedFields") or []}
    return all((name, "Apply") not in ops for name in names)


def preview(
    kube: Kube, res: Resource, obj: dict[str, Any], change: Change, live: dict[str, Any] | None, policy: ConflictPolicy
) -> dict[str, Any] | None:
    """The server's dry-run result for `obj`, or None when the change became a conflict, an error or a re-create.

    Sets `change.force` (and `change.takeovers`) when the real apply must take fields from other managers.
    """
    change.force = wants_force(obj)
    try:
        try:
            return dict(server_side_apply(kube, res, obj, dry_run=True, force=change.force))
        except Conflict as e:
            if live is not None and only_imperative_managers(e, live):
                pass  # kubectl edit/scale and other Update calls are drift on fields razee declares: take them back
            elif policy == "takeover":
                change.takeovers = takeovers(e)
            else:
                change.action, change.conflicts = Action.CONFLICT, conflict_fields(e)
                change.reason = (
                    "conflict with another field manager (annotate the object razee.io/force: "
                    '"true", or run razee apply --force-conflicts, to take the fields over)'
                )
                return None
            change.force = True
            return dict(server_side_apply(kube, res, obj, dry_run=True, force=True))
    except Unavailable:
        raise  # the server failed, not the object: the whole pass stops (exit 4), it is not an input error
    except KubeError as e:
        fields = immutable_fields(e) if live is not None else []
        if fields and wants_recreate(obj):
            change.action = Action.RECREATE
            change.reason = (
                f'immutable field {", ".join(fields)} changed: delete and create again ({RECREATE_ANNOTATION}: "true")'
            )
            return clean(obj)
        change.action = Action.ERROR
        change.reason = e.message
        if fields:
            change.reason = (
                f"the server cannot change immutable field {', '.join(fields)} in place; annotate the "
                f'object {RECREATE_ANNOTATION}: "true" to have razee delete and create it again. '
                f"The server said: {e.message}"
            )
        return None


def validate_in(
    kube: Kube, res: Resource, obj: dict[str, Any], namespace: str, change: Change
) -> dict[str, Any] | None:
    """Dry-run create `obj` in an existing stand-in namespace, for an object whose namespace this pass creates.

    A create, not an apply: an object of the same name in the stand-in namespace must not be merged with it. The
    server validates before it looks for a name clash, so "already exists" means the object passed.
    """
    body = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
    try:
        result = kube.request(
            "DRYRUN", "POST", res.collection_path(namespace), {"fieldManager": FIELD_MANAGER, "dryRun": "All"}, body
        )
    except Conflict:
        return clean(obj)
    except Unavailable:
        raise
    except KubeError as e:
        change.action, change.reason = Action.ERROR, e.message.replace(f"/namespaces/{namespace}/", "/namespaces/…/")
        return None
    result = dict(result)
    result.setdefault("metadata", {})["namespace"] = obj["metadata"]["namespace"]
    return clean(result)
