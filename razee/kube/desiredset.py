"""The desired objects of one pass, prepared for the cluster and keyed as the cluster will know them.

A namespace on a cluster-scoped kind is dropped (as kubectl does) with a warning; a namespaced kind without a
namespace, an unusable razee.io/ignore-fields pointer and a key declared twice are input errors of that object
alone. Kinds not yet served may be declared by a CRD of the same pass (`pending`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from razee.kube.desired import content_hash, prepare
from razee.kube.discovery import Discovery, UnknownKind
from razee.kube.fieldowners import ignored_pointers, pointer_problem
from razee.kube.serverfields import server_owned
from razee.kube.session import PassMemo
from razee.objects import Manifest, ObjectKey
from razee.plan.jsoncopy import copy_json
from razee.plan.view import HASH_ANNOTATION

PendingCrds = dict[tuple[str, str], dict[str, Any]]
"""(group, kind) -> the CRD this pass applies for it."""


@dataclass
class Desired:
    manifest: Manifest
    obj: dict[str, Any]
    key: ObjectKey
    error: str = ""
    namespaced: bool | None = None  # None: its kind is not served yet and no CRD of this pass declares it


def _rehash(obj: dict[str, Any]) -> None:
    annotations = obj["metadata"]["annotations"]
    annotations.pop(HASH_ANNOTATION, None)
    annotations[HASH_ANNOTATION] = content_hash(obj)


def pending_crds(prepared: Sequence[dict[str, Any]]) -> PendingCrds:
    """(group, kind) -> CRD, for the CRDs this pass applies."""
    out: PendingCrds = {}
    for obj in prepared:
        spec = obj.get("spec") if obj.get("kind") == "CustomResourceDefinition" else None
        if isinstance(spec, dict) and isinstance(spec.get("names"), dict):
            out[(str(spec.get("group")), str(spec["names"].get("kind")))] = obj
    return out


def _prepared(manifests: Sequence[Manifest], target: str, memo: PassMemo | None) -> list[dict[str, Any]]:
    if memo is None:
        return [prepare(m, target) for m in manifests]
    out, kept = [], {}
    for m in manifests:
        hit = memo.prepared.get(id(m.obj))
        obj = hit[1] if hit is not None and hit[0] is m.obj else prepare(m, target)
        kept[id(m.obj)] = (m.obj, obj)
        out.append(obj)
    memo.prepared = kept
    return out


def desired_objects(
    manifests: Sequence[Manifest], target: str, discovery: Discovery, warnings: list[str], memo: PassMemo | None
) -> tuple[dict[ObjectKey, Desired], PendingCrds]:
    """Prepared objects by key, and the CRDs among them; warnings are appended to `warnings`."""
    prepared = list(zip(manifests, _prepared(manifests, target, memo), strict=True))
    pending = pending_crds([obj for _, obj in prepared])
    discovery.prefetch({"v1", *(str(obj["apiVersion"]) for _, obj in prepared)})
    out: dict[ObjectKey, Desired] = {}
    for manifest, obj in prepared:
        key = manifest.key
        dropped = server_owned(manifest.obj)
        if dropped:
            them = "them" if len(dropped) > 1 else "it"
            warnings.append(
                f"{key}: {', '.join(dropped)} dropped: the server owns {them}, so razee neither applies "
                f"nor compares {them} [{manifest.source}]"
            )
        try:
            namespaced: bool | None = discovery.resource(str(obj["apiVersion"]), key.kind).namespaced
        except UnknownKind:
            crd = pending.get((key.group, key.kind))
            namespaced = None if crd is None else crd["spec"].get("scope") != "Cluster"
        error = ""
        if namespaced is False and key.namespace:
            obj = copy_json(obj)  # the prepared form may be reused by the next pass: change a copy
            del obj["metadata"]["namespace"]
            _rehash(obj)
            warnings.append(f"{key}: metadata.namespace dropped, {key.kind} is cluster-scoped [{manifest.source}]")
            key = key._replace(namespace="")
        elif namespaced and not key.namespace:
            error = (
                f"{key.kind} is namespaced and metadata.namespace is missing; razee does not guess one "
                f"[{manifest.source}]"
            )
        problems = [p for p in map(pointer_problem, ignored_pointers(obj)) if p]
        if problems:
            error = f"razee.io/ignore-fields: {'; '.join(problems)} [{manifest.source}]"
        if key in out:
            error = f"declared twice once its namespace is dropped: {out[key].manifest.source} and {manifest.source}"
        out[key] = Desired(manifest, obj, key, error, namespaced)
    return out, pending
