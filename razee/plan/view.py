"""What people see of objects: server noise removed, Secret values masked, unified diffs and JSON patches."""

from __future__ import annotations

import difflib
from typing import Any

from razee.plan.jsoncopy import copy_json

HASH_ANNOTATION = "razee.io/desired-hash"
_NOISE_METADATA = ("managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink")
_NOISE_ANNOTATIONS = (
    HASH_ANNOTATION,
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
)
MASK = "***"


def clean(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy without fields the server manages (status, managedFields, resourceVersion, timestamps...)."""
    if obj is None:
        return None
    out: dict[str, Any] = copy_json(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in _NOISE_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        for key in _NOISE_ANNOTATIONS:
            annotations.pop(key, None)
        if not annotations:
            meta.pop("annotations", None)
    return out


def mask_secrets(before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Replace Secret values in place, showing only whether each one changed (as `kubectl diff` does)."""
    objs = [o for o in (before, after) if o is not None]
    if not objs or objs[0].get("kind") != "Secret" or objs[0].get("apiVersion") != "v1":
        return
    for field in ("data", "stringData"):
        b = before.get(field) if before else None
        a = after.get(field) if after else None
        keys = set(b or {}) | set(a or {})
        for key in keys:
            old, new = (b or {}).get(key), (a or {}).get(key)
            changed = b is not None and a is not None and key in b and key in a and old != new
            if b is not None and key in b:
                b[key] = f"{MASK} (before)" if changed else MASK
            if a is not None and key in a:
                a[key] = f"{MASK} (after)" if changed else MASK


def to_yaml(obj: dict[str, Any] | None) -> str:
    if obj is None:
        return ""
    from razee.yamlout import dump_block  # only a plan with changes prints YAML

    return dump_block(obj, sort_keys=True)


def unified_diff(
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    label: str,
    sides: tuple[str, str] = ("live", "desired"),
) -> str:
    lines = difflib.unified_diff(
        to_yaml(before).splitlines(keepends=True),
        to_yaml(after).splitlines(keepends=True),
        fromfile=f"{sides[0]}/{label}",
        tofile=f"{sides[1]}/{label}",
        n=3,
    )
    return "".join(lines)


def json_patch(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    import jsonpatch  # only a plan with changes builds patches

    patch = jsonpatch.make_patch(before or {}, after or {})
    return list(patch.patch)
