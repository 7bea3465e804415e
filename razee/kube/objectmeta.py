"""What razee reads off an object, desired or live: the spoke that owns it, its UID, the desired-state hash razee
applied, whether it is being deleted and what holds it, and the razee.io annotations that steer a write."""

from __future__ import annotations

from typing import Any

from razee.kube.inventory import INVENTORY_LABEL
from razee.plan.view import HASH_ANNOTATION

FORCE_ANNOTATION = "razee.io/force"
"""`true`: take fields back from the managers that changed them (drift, not a conflict of appliers)."""
PRUNE_ANNOTATION = "razee.io/prune"
"""`disabled`: never delete the object when it leaves the fleet repo; `enabled`: prune even a chart's CRD."""
CRD_OF_ANNOTATION = "razee.io/crd-of"
"""On a CRD from a chart's crds/ folder: the source it came from. Such CRDs are kept when they leave, as Helm and
Fleet keep them: deleting a CRD deletes every custom resource of its kind."""
HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name"
HELM_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace"
RECREATE_ANNOTATION = "razee.io/recreate"
"""`true`: delete and create the object again when an immutable field changes."""


def desired_hash(obj: dict[str, Any]) -> str | None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(HASH_ANNOTATION)
    return str(value) if value is not None else None


def wants_force(obj: dict[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(FORCE_ANNOTATION, "")).lower() == "true"


def prune_disabled(obj: dict[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(PRUNE_ANNOTATION, "")).lower() == "disabled"


def prune_enabled(obj: dict[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(PRUNE_ANNOTATION, "")).lower() == "enabled"


def crd_of(obj: dict[str, Any]) -> str:
    """The source whose crds/ folder an object came from ('' for any other object)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(CRD_OF_ANNOTATION) or "")


def helm_release(obj: dict[str, Any]) -> str:
    """`namespace/name` of the Helm release that installed a live object ('' when Helm did not)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    name = annotations.get(HELM_RELEASE_ANNOTATION)
    if not name:
        return ""
    namespace = annotations.get(HELM_NAMESPACE_ANNOTATION)
    return f"{namespace}/{name}" if namespace else str(name)


def wants_recreate(obj: dict[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(RECREATE_ANNOTATION, "")).lower() == "true"


def owner_of(obj: dict[str, Any]) -> str:
    """The spoke whose inventory label the object carries ('' when none)."""
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(INVENTORY_LABEL) or "")


def uid_of(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def terminating(obj: dict[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def finalizers(obj: dict[str, Any]) -> list[str]:
    meta = obj.get("metadata") or {}
    names = list(meta.get("finalizers") or [])
    names += [f"spec: {f}" for f in ((obj.get("spec") or {}).get("finalizers") or []) if obj.get("kind") == "Namespace"]
    return [str(n) for n in names]
