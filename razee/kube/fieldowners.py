"""Fields that another manager owns: two opt-ins on the object (docs/engine.md, "Fields owned by others").

- `razee.io/ssa: IfNotPresent` (Flux's meaning): the object is created when it is missing, and never updated or
  reported as drift afterwards. For objects that are seeded once and then owned by someone else.
- `razee.io/ignore-fields: "/spec/replicas, /data/x"` (JSON pointers through mapping keys): the fields are sent
  when razee creates the object, then neither sent nor compared, so another manager (an autoscaler, an operator,
  `kubectl scale`) can own them. Server-side apply would delete a field that razee owned and stops sending, so
  before its first apply without them razee hands each field it still owns over to the field manager
  `razee-handover`, at its live value: the value stays, and the next manager to change it takes it from there.
"""

from __future__ import annotations

from typing import Any

from razee.plan.jsoncopy import copy_json

SSA_ANNOTATION = "razee.io/ssa"
IGNORE_ANNOTATION = "razee.io/ignore-fields"
HANDOVER_MANAGER = "razee-handover"
_FIXED = ("/apiVersion", "/kind", "/metadata/name", "/metadata/namespace")


def _annotation(obj: dict[str, Any], name: str) -> str:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(name) or "")


def if_not_present(obj: dict[str, Any]) -> bool:
    return _annotation(obj, SSA_ANNOTATION).lower() == "ifnotpresent"


def ignored_pointers(obj: dict[str, Any]) -> list[str]:
    return [p.strip() for p in _annotation(obj, IGNORE_ANNOTATION).split(",") if p.strip()]


def pointer_problem(pointer: str) -> str | None:
    """Why razee cannot ignore a pointer (None when it can)."""
    if not pointer.startswith("/") or pointer == "/":
        return f"{pointer!r} is not a JSON pointer to a field (such as /spec/replicas)"
    if pointer == "/metadata" or pointer.startswith(_FIXED):
        return f"{pointer!r} names the object itself; razee cannot leave it to another manager"
    if any(part.isdigit() for part in _parts(pointer)):
        return (
            f"{pointer!r} goes through a list index; server-side apply identifies list items by their keys, "
            "so leaving out an item would drop the whole item: name a field of a mapping"
        )
    return None


def _parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def without(obj: dict[str, Any], pointers: list[str]) -> dict[str, Any]:
    """A copy of `obj` without the fields at `pointers` (those it does not have are ignored)."""
    out: dict[str, Any] = copy_json(obj)
    for pointer in pointers:
        *path, last = _parts(pointer)
        node: Any = out
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return out


def value_at(obj: Any, pointer: str) -> tuple[bool, Any]:
    for part in _parts(pointer):
        if not isinstance(obj, dict) or part not in obj:
            return False, None
        obj = obj[part]
    return True, obj


def owned_by(live: dict[str, Any], manager: str, pointer: str) -> bool:
    """Whether `manager`'s Apply entry of the live object's managedFields holds the field at `pointer`."""
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") != manager or entry.get("operation") != "Apply":
            continue
        node: Any = entry.get("fieldsV1") or {}
        for part in _parts(pointer):
            node = node.get(f"f:{part}") if isinstance(node, dict) else None
        if node is not None:
            return True
    return False


def handover_patch(live: dict[str, Any], manager: str, pointers: list[str]) -> dict[str, Any] | None:
    """An apply body that gives the fields `manager` still owns at `pointers` their live values (None: nothing to
    hand over)."""
    meta = live.get("metadata") or {}
    body: dict[str, Any] = {
        "apiVersion": live.get("apiVersion"),
        "kind": live.get("kind"),
        "metadata": {"name": meta.get("name"), **({"namespace": meta["namespace"]} if meta.get("namespace") else {})},
    }
    handed = False
    for pointer in pointers:
        found, value = value_at(live, pointer)
        if not found or not owned_by(live, manager, pointer):
            continue
        *path, last = _parts(pointer)
        node = body
        for part in path:
            node = node.setdefault(part, {})
        node[last] = copy_json(value)
        handed = True
    return body if handed else None


def keep_handed(after: dict[str, Any], handover: dict[str, Any]) -> None:
    """Show, in a dry run's result, the handed-over fields at the values the hand-over keeps (in place)."""
    for key, value in handover.items():
        if key in ("apiVersion", "kind", "metadata"):
            continue
        if isinstance(value, dict) and isinstance(after.get(key), dict):
            keep_handed(after[key], value)
        else:
            after[key] = copy_json(value)
