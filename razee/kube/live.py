"""Reading live state with few requests: LISTs per (resource, namespace), never a GET per object.

Kinds that span many namespaces are read with one cluster-wide LIST filtered by razee's inventory label; only
objects not yet labelled (the first pass, or adoption of existing objects) need per-namespace LISTs, and only in
namespaces that exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from razee.kube.client import Kube
from razee.kube.discovery import Discovery, Resource, UnknownKind
from razee.kube.inventory import INVENTORY_LABEL
from razee.render.manifest import ObjectKey

PER_NAMESPACE_LIMIT = 3
PAGE = 500
LIST_CONCURRENCY = 6


@dataclass
class LiveState:
    objects: dict[ObjectKey, dict[str, Any]] = field(default_factory=dict)
    resources: dict[ObjectKey, Resource] = field(default_factory=dict)
    unknown: dict[ObjectKey, str] = field(default_factory=dict)  # key -> why it could not be looked up
    namespaces: set[str] = field(default_factory=set)


def list_all(kube: Kube, resource: Resource, namespace: str | None, selector: str | None = None) -> list[Any]:
    items: list[Any] = []
    query: dict[str, str] = {"limit": str(PAGE)}
    if selector:
        query["labelSelector"] = selector
    while True:
        page = kube.request("LIST", "GET", resource.collection_path(namespace), query)
        for item in page.get("items", []):
            item.setdefault("apiVersion", resource.api_version)
            item.setdefault("kind", resource.kind)
            items.append(item)
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items
        query["continue"] = token


def _list_many(kube: Kube, jobs: list[tuple[Resource, str | None, str | None]]) -> list[list[Any]]:
    """LISTs side by side: on a small spoke the round trips, not the decoding, are most of a diff's time."""
    if len(jobs) <= 1:
        return [list_all(kube, *job) for job in jobs]
    with ThreadPoolExecutor(max_workers=min(LIST_CONCURRENCY, len(jobs))) as pool:
        return list(pool.map(lambda job: list_all(kube, *job), jobs))


def _key_of(item: dict[str, Any], resource: Resource) -> ObjectKey:
    meta = item.get("metadata") or {}
    return ObjectKey(resource.group, resource.kind, meta.get("namespace") or "", meta["name"])


def read_live(kube: Kube, discovery: Discovery, wanted: Iterable[tuple[ObjectKey, str]], target: str) -> LiveState:
    """Live copies of the wanted objects (key, apiVersion) that exist."""
    state = LiveState()
    by_resource: dict[Resource, set[str]] = defaultdict(set)
    wanted_keys: set[ObjectKey] = set()
    wanted = list(wanted)
    discovery.prefetch({"v1", *(api_version for _, api_version in wanted)})
    for key, api_version in wanted:
        try:
            res = discovery.resource(api_version, key.kind)
        except UnknownKind as e:
            state.unknown[key] = str(e)
            continue
        state.resources[key] = res
        wanted_keys.add(key)
        by_resource[res].add(key.namespace if res.namespaced else "")
    if any(res.namespaced for res in by_resource):
        ns_res = discovery.resource("v1", "Namespace")
        ns_items = list_all(kube, ns_res, None)
        state.namespaces = {i["metadata"]["name"] for i in ns_items}
        if ns_res in by_resource:
            for item in ns_items:
                state.objects[_key_of(item, ns_res)] = item
            del by_resource[ns_res]

    def take(items: list[Any], res: Resource) -> None:
        for item in items:
            k = _key_of(item, res)
            if k in wanted_keys:
                state.objects[k] = item

    jobs: list[tuple[Resource, str | None, str | None]] = []
    labelled: list[Resource] = []
    for res, namespaces in sorted(by_resource.items(), key=lambda kv: (kv[0].group, kv[0].kind)):
        if not res.namespaced:
            jobs.append((res, None, None))
            continue
        present = sorted(ns for ns in namespaces if ns in state.namespaces)
        if len(present) <= PER_NAMESPACE_LIMIT:
            jobs.extend((res, ns, None) for ns in present)
            continue
        jobs.append((res, None, f"{INVENTORY_LABEL}={target}"))
        labelled.append(res)
    for (res, _, _), items in zip(jobs, _list_many(kube, jobs), strict=True):
        take(items, res)
    # Objects of a cluster-wide labelled LIST that are not labelled yet (first pass, adoption): per namespace.
    followups: list[tuple[Resource, str | None, str | None]] = []
    for res in labelled:
        missing_ns = {k.namespace for k in wanted_keys
                      if state.resources.get(k) == res and k not in state.objects and k.namespace in state.namespaces}
        followups.extend((res, ns, None) for ns in sorted(missing_ns))
    for (res, _, _), items in zip(followups, _list_many(kube, followups), strict=True):
        take(items, res)
    return state
