"""Fields the server owns: a template may carry them (objects pasted from `kubectl get -o yaml` do), razee drops them.

`status` is written by controllers through its own subresource, and `metadata.resourceVersion`, `uid`,
`creationTimestamp`, `generation`, `managedFields` and `selfLink` by the apiserver. Applied, they are ignored or
refused (a pinned resourceVersion makes every apply a conflict); compared, they differ for ever. So razee removes
them before hashing, comparing and applying, and the plan warns, naming the template, so the fleet repo can be
cleaned up.
"""

from __future__ import annotations

from typing import Any

SERVER_OWNED_METADATA = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink")


def server_owned(obj: dict[str, Any]) -> list[str]:
    """The server-owned fields `obj` declares (`status`, `metadata.resourceVersion`, ...); empty for most objects."""
    found = ["status"] if "status" in obj else []
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        found += [f"metadata.{k}" for k in SERVER_OWNED_METADATA if k in meta]
    return found


def drop_server_owned(obj: dict[str, Any]) -> None:
    """Remove the server-owned fields from `obj`, in place."""
    obj.pop("status", None)
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for key in SERVER_OWNED_METADATA:
            meta.pop(key, None)
