"""Reading live state with few requests: LISTs per (resource, namespace), never a GET per object.

Kinds that span many namespaces are read with one cluster-wide LIST filtered by razee's inventory label; only
objects not yet labelled (the first pass, or adoption of existing objects) need per-namespace LISTs, and only in
namespaces that exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from razee.kube.client import Kube
from razee.kube.discovery import Discovery, Resource, UnknownKind
from razee.kube.inventory import INVENTORY_LABEL
from razee.objects import ObjectKey

PER_NAMESPACE_LIMIT = 3
PAGE = 500
LIST_CONCURRENCY = 6


@dataclass
class LiveState:
    objects: dict[ObjectKey, dict[str, Any]] = field(default_factory=dict)
    resources: dict[ObjectKey, Resource] = field(default_factory=dict)
    unknown: dict[ObjectKey, str] = field(default_factory=dict)  # key -> why it could not be looked up
    namespaces: set[str] = field(default_factory=set)
    terminating_namespaces: set[str] = field(default_factory=set)  # deletionTimestamp set: no new content


Lister = Callable[[Kube, Resource, str | None, str | None], Iterable[Any]]
"""(kube, resource, namespace or None, label selector or None) -> the live objects in that scope."""


def list_all(kube: Kube, resource: Resource, namespace: str | None, selector: str | None = None) -> list[Any]:
    return list_with_version(kube, resource, namespace, selector)[0]


def list_with_version(
    kube: Kube, resource: Resource, namespace: str | None, selector: str | None = None
) -> tuple[list[Any], str]:
    """The objects in one scope and the resourceVersion of that snapshot (to watch from)."""
    items: list[Any] = []
    query: dict[str, str] = {"limit": str(PAGE)}
    if selector:
        query["labelSelector"] = selector
    version = ""
    while True:
        page = kube.request("LIST", "GET", resource.collection_path(namespace), query)
        for item in page.get("items", []):
            item.setdefault("apiVersion", resource.api_version)
            item.setdefault("kind", resource.kind)
            items.append(item)
        meta = page.get("metadata") or {}
        version = version or str(meta.get("resourceVersion") or "")  # pages after the first share its snapshot
        token = meta.get("continue")
        if not token:
            return items, version
        query["continue"] = token


def _list_many(
    kube: Kube, jobs: list[tuple[Resource, str | None, str | None]], lister: Lister = list_all
) -> list[Iterable[Any]]:
    """LISTs side by side: on a small spoke the round trips, not the decoding, are most of a diff's time."""
    if len(jobs) <= 1:
        return [lister(kube, *job) for job in jobs]
    with ThreadPoolExecutor(max_workers=min(LIST_CONCURRENCY, len(jobs))) as pool:
        return list(pool.map(lambda job: lister(kube, *job), jobs))


def _key_of(item: dict[str, Any], resource: Resource) -> ObjectKey:
    meta = item.get("metadata") or {}
    return ObjectKey(resource.group, resource.kind, meta.get("namespace") or "", meta["name"])


def _read_namespaces(
    kube: Kube, discovery: Discovery, lister: Lister, state: LiveState, by_resource: dict[Resource, set[str]]
) -> None:
    """The cluster's namespaces (and which are being deleted); Namespaces wanted themselves come from this LIST."""
    ns_res = discovery.resource("v1", "Namespace")
    ns_items = list(lister(kube, ns_res, None, None))
    state.namespaces = {i["metadata"]["name"] for i in ns_items}
    state.terminating_namespaces = {
        i["metadata"]["name"] for i in ns_items if (i.get("metadata") or {}).get("deletionTimestamp")
    }
    if ns_res in by_resource:
        for item in ns_items:
            state.objects[_key_of(item, ns_res)] = item
        del by_resource[ns_res]


def read_live(
    kube: Kube, discovery: Discovery, wanted: Iterable[tuple[ObjectKey, str]], target: str, lister: Lister = list_all
) -> LiveState:
    """Live copies of the wanted objects (key, apiVersion) that exist.

    `lister` reads each scope (a long-running agent passes its watch cache's, razee.kube.watchcache); the
    per-namespace LISTs that look for objects not yet labelled always go to the server.
    """
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
    if any(res.namespaced for res in by_resource) or any(k.namespace for k in state.unknown):
        _read_namespaces(kube, discovery, lister, state, by_resource)

    def take(items: Iterable[Any], res: Resource) -> None:
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
    for (res, _, _), items in zip(jobs, _list_many(kube, jobs, lister), strict=True):
        take(items, res)
    # Objects of a cluster-wide labelled LIST that are not labelled yet (first pass, adoption): per namespace.
    followups: list[tuple[Resource, str | None, str | None]] = []
    missing = [k for k in wanted_keys if k not in state.objects and k.namespace in state.namespaces]  # often none
    for res in labelled:
        missing_ns = {k.namespace for k in missing if state.resources.get(k) == res}
        followups.extend((res, ns, None) for ns in sorted(missing_ns))
    for (res, _, _), items in zip(followups, _list_many(kube, followups), strict=True):
        take(items, res)
    return state
