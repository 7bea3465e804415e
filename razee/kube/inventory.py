"""The in-cluster record of what razee manages for a target (a ConfigMap in razee-system).

The inventory is written before anything is created (old entries plus every desired object) and trimmed only
after pruning, so a crash at any point leaves it a superset of what razee created: nothing is ever orphaned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from razee.kube.client import Kube
from razee.kube.errors import NotFound
from razee.render.manifest import ObjectKey

INVENTORY_NAMESPACE = "razee-system"
INVENTORY_MANAGER = "razee-inventory"
INVENTORY_LABEL = "razee.io/inventory"


def inventory_name(target: str) -> str:
    return f"razee-inventory-{target}"


@dataclass
class Inventory:
    target: str
    entries: dict[ObjectKey, str] = field(default_factory=dict)  # key -> apiVersion

    def encode(self) -> str:
        lines = sorted(f"{v}|{k.kind}|{k.namespace}|{k.name}" for k, v in self.entries.items())
        return "\n".join(lines) + ("\n" if lines else "")

    @classmethod
    def decode(cls, target: str, text: str) -> Inventory:
        entries: dict[ObjectKey, str] = {}
        for line in text.splitlines():
            parts = line.split("|")
            if len(parts) != 4:
                continue
            api_version, kind, namespace, name = parts
            entries[ObjectKey(api_version.rpartition("/")[0], kind, namespace, name)] = api_version
        return cls(target, entries)


def read_inventory(kube: Kube, target: str) -> Inventory:
    path = f"/api/v1/namespaces/{INVENTORY_NAMESPACE}/configmaps/{inventory_name(target)}"
    try:
        cm = kube.request("GET", "GET", path)
    except NotFound:
        return Inventory(target)
    return Inventory.decode(target, (cm.get("data") or {}).get("objects", ""))


def write_inventory(kube: Kube, target: str, entries: Mapping[ObjectKey, str],
                    ensure_namespace: bool = True) -> Inventory:
    inv = Inventory(target, dict(entries))
    query = {"fieldManager": INVENTORY_MANAGER, "force": "true"}
    if ensure_namespace:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": INVENTORY_NAMESPACE}}
        kube.request("APPLY", "PATCH", f"/api/v1/namespaces/{INVENTORY_NAMESPACE}", query, ns,
                     "application/apply-patch+yaml")
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": inventory_name(target), "namespace": INVENTORY_NAMESPACE,
                       "labels": {"app.kubernetes.io/managed-by": "razee"}},
          "data": {"objects": inv.encode()}}
    kube.request("APPLY", "PATCH",
                 f"/api/v1/namespaces/{INVENTORY_NAMESPACE}/configmaps/{inventory_name(target)}", query, cm,
                 "application/apply-patch+yaml")
    return inv


def union(*sets: Iterable[tuple[ObjectKey, str]]) -> dict[ObjectKey, str]:
    out: dict[ObjectKey, str] = {}
    for s in sets:
        out.update(s)
    return out
