"""Preparing rendered manifests for the cluster: razee's label, the desired-state hash, Secret encoding.

The hash annotation records which desired state razee last applied. A changed hash means the fleet repo changed
the object (including dropping a field razee owned, which a field-by-field comparison cannot see); an unchanged
hash with differing declared fields means someone changed the cluster (drift). What razee reads back off an
object, desired or live (its owner, hash, finalizers, steering annotations), is in razee.kube.objectmeta.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from razee.kube.fieldowners import ignored_pointers, without
from razee.kube.inventory import INVENTORY_LABEL
from razee.kube.objectmeta import CRD_OF_ANNOTATION
from razee.kube.serverfields import drop_server_owned
from razee.objects import Manifest
from razee.plan.jsoncopy import copy_json
from razee.plan.view import HASH_ANNOTATION

# Where built-in kinds hold resource quantities. YAML reads `cpu: 1` or `cpu: 0.5` as numbers, which server-side
# apply refuses ("expected string"); kubectl's client-side apply accepts them, so razee writes the strings they mean.
_QUANTITY_MAPS = frozenset({"limits", "requests", "hard", "capacity", "podFixed"})
_LIMIT_RANGE_MAPS = frozenset({"max", "min", "default", "defaultRequest", "maxLimitRequestRatio"})
_QUANTITY_SCALARS = frozenset({"sizeLimit"})
_CORE_GROUPS = frozenset({"", "apps", "batch", "policy", "node.k8s.io", "extensions"})


_POD_TEMPLATE_PATHS = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _default_protocols(ports: Any) -> None:
    for port in ports if isinstance(ports, list) else []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def fill_list_keys(obj: dict[str, Any]) -> None:
    """Fill `protocol: TCP` where it is a key of an associative list and the object leaves it out.

    Server-side apply on Kubernetes before 1.21 rejects such lists ("associative list with keys has an element
    that omits key field protocol"); TCP is what the server would default it to, so nothing changes meaning.
    """
    kind = obj.get("kind")
    if kind == "Service" and obj.get("apiVersion") == "v1":
        _default_protocols(_dig(obj, ("spec", "ports")))
    pod_path = _POD_TEMPLATE_PATHS.get(str(kind))
    pod = _dig(obj, pod_path) if pod_path else None
    if isinstance(pod, dict):
        for field in ("containers", "initContainers"):
            for container in pod.get(field) or []:
                if isinstance(container, dict):
                    _default_protocols(container.get("ports"))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def quantities_as_strings(obj: dict[str, Any]) -> None:
    """Turn numeric quantities of built-in kinds (`cpu: 1`, `memory: 1e9`, `storage: 5`) into strings, in place.

    Custom resources are left alone: their schema, not razee, says whether a number is meant.
    """
    if str(obj.get("apiVersion", "")).rpartition("/")[0] not in _CORE_GROUPS:
        return
    maps = _QUANTITY_MAPS | (_LIMIT_RANGE_MAPS if obj.get("kind") == "LimitRange" else frozenset())
    _stringify(obj.get("spec"), maps)


def _stringify(node: Any, maps: frozenset[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _stringify(item, maps)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in maps and isinstance(value, dict):
            for k, v in value.items():
                if _number(v):
                    value[k] = _quantity_text(v)
        elif key in _QUANTITY_SCALARS and _number(value):
            node[key] = _quantity_text(value)
        else:
            _stringify(value, maps)


def _quantity_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def prepare(manifest: Manifest, target: str) -> dict[str, Any]:
    obj: dict[str, Any] = copy_json(manifest.obj)
    drop_server_owned(obj)
    fill_list_keys(obj)
    quantities_as_strings(obj)
    meta = obj.setdefault("metadata", {})
    meta.setdefault("labels", {})[INVENTORY_LABEL] = target
    origin = manifest.source.origin
    if origin is not None and (origin.file or "").startswith("crds/") and obj.get("kind") == "CustomResourceDefinition":
        meta.setdefault("annotations", {})[CRD_OF_ANNOTATION] = f"{origin.kind} {origin.name}"
    if obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1" and obj.get("stringData"):
        # stringData never appears on the live object; applying `data` keeps ownership and comparison exact
        data = obj.setdefault("data", {})
        for k, v in obj.pop("stringData").items():
            data[k] = base64.b64encode(str(v).encode()).decode()
    meta.setdefault("annotations", {})[HASH_ANNOTATION] = content_hash(obj)
    return obj


def content_hash(obj: dict[str, Any]) -> str:
    """The desired-state hash of a prepared object (before its hash annotation is set).

    Fields left to another manager (razee.io/ignore-fields) are not part of it: changing them in the fleet repo is
    no change for razee to apply.
    """
    pointers = ignored_pointers(obj)
    hashed = without(obj, pointers) if pointers else obj
    return hashlib.sha256(json.dumps(hashed, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]
