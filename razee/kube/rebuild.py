"""Rebuilding a lost inventory from the ground truth: the `razee.io/inventory=<spoke>` label on every object.

Without it, deleting the inventory ConfigMap (or the razee-system namespace) would orphan every managed object that
later leaves the repo. The rebuild LISTs each kind the server serves, filtered by the label; it runs only when no
record exists, so ordinary passes never pay for it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from razee.kube.client import Kube
from razee.kube.discovery import Discovery, Resource
from razee.kube.errors import Forbidden, NotFound, Unavailable
from razee.kube.hooks import hook_of
from razee.kube.inventory import INVENTORY_LABEL, Inventory
from razee.kube.live import list_all
from razee.objects import ObjectKey

STORAGE_SETTLE_S = 10.0
"""How long a kind whose storage the apiserver is (re)initializing is asked again (a CRD created or changed a
moment ago answers 503 "storage is (re)initializing" for a short while)."""


def _list_settled(kube: Kube, res: Resource, target: str) -> list[Any]:
    deadline = time.monotonic() + STORAGE_SETTLE_S
    while True:
        try:
            return list_all(kube, res, None, f"{INVENTORY_LABEL}={target}")
        except Unavailable as e:
            if "(re)initializing" not in str(e) or time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def rebuild_inventory(kube: Kube, discovery: Discovery, target: str, concurrency: int = 8) -> Inventory:
    """An inventory of every object labelled for `target` (`found` stays False: nothing was on record)."""
    resources: list[Resource] = []
    for api_version in discovery.preferred_versions():
        resources.extend(r for r in discovery.resources(api_version) if r.listable)

    def labelled(res: Resource) -> list[tuple[str, ObjectKey]]:
        try:
            items = _list_settled(kube, res, target)
        except (NotFound, Forbidden):
            return []  # not served after all, or not readable with these credentials: nothing razee could own
        return [
            (
                str(i["metadata"].get("uid", "")),
                ObjectKey(res.group, res.kind, i["metadata"].get("namespace") or "", i["metadata"]["name"]),
            )
            for i in items
            if hook_of(i) is None
        ]  # Helm hooks are never in the inventory

    inv = Inventory(target, found=False)
    seen: set[str] = set()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for res, found in zip(resources, pool.map(labelled, resources), strict=True):
            for uid, key in found:
                if uid and uid in seen:
                    continue  # one object served under two groups (an Ingress in extensions and networking)
                seen.add(uid)
                inv.entries[key] = res.api_version
    inv.rebuilt = len(inv.entries)
    return inv
