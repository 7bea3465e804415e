"""The in-cluster record of what razee manages for a spoke: ConfigMaps in razee-system, sharded by size.

The inventory is an index; the ground truth is the `razee.io/inventory=<spoke>` label on every managed object. It
is written before anything is created (old entries plus every desired object) and trimmed only after pruning, so
a crash at any point leaves it a superset of what razee created. A lost inventory is rebuilt from the label
(`rebuild.py`), never taken as empty.

One ConfigMap holds at most about 1 MiB, so the record is split into shards of at most SHARD_BYTES by a stable
hash of each object's identity. Only shards whose content changed are written, and reading is one LIST.
Shard 0 keeps the name the single-ConfigMap inventory had, so older records are read and upgraded in place.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from razee.kube.client import Kube
from razee.kube.errors import NotFound
from razee.objects import ObjectKey

INVENTORY_NAMESPACE = "razee-system"
INVENTORY_MANAGER = "razee-inventory"
INVENTORY_LABEL = "razee.io/inventory"
"""On every managed object: the spoke that owns it."""
INVENTORY_FOR_LABEL = "razee.io/inventory-for"
"""On every inventory shard: the spoke whose record it is."""
SHARD_BYTES = 700_000
_PREFIX = "razee-inventory-"
_APPLY = "application/apply-patch+yaml"


def inventory_name(target: str, shard: int = 0) -> str:
    # spoke names have no dots, so `<spoke>.shard-N` can never be another spoke's shard 0
    return f"{_PREFIX}{target}" if shard == 0 else f"{_PREFIX}{target}.shard-{shard}"


def _spoke_of(configmap_name: str) -> str | None:
    if not configmap_name.startswith(_PREFIX):
        return None
    return configmap_name[len(_PREFIX) :].partition(".shard-")[0] or None


@dataclass
class Inventory:
    target: str
    entries: dict[ObjectKey, str] = field(default_factory=dict)  # key -> apiVersion
    templates: dict[ObjectKey, str] = field(default_factory=dict)  # key -> template it was rendered from
    shards: dict[str, str] = field(default_factory=dict)  # ConfigMap name -> its encoded content
    found: bool = True  # False when no record existed: a first pass, or a lost inventory
    rebuilt: int | None = None  # objects found by label when the record was missing

    def lines(self, entries: Mapping[ObjectKey, str], templates: Mapping[ObjectKey, str]) -> dict[ObjectKey, str]:
        return {k: _line(k, v, templates.get(k, "")) for k, v in entries.items()}

    @classmethod
    def decode(cls, target: str, texts: Iterable[str]) -> Inventory:
        inv = cls(target)
        for text in texts:
            for line in text.splitlines():
                parts = line.split("|")
                if len(parts) not in (4, 5):
                    continue
                api_version, kind, namespace, name = parts[:4]
                key = ObjectKey(api_version.rpartition("/")[0], kind, namespace, name)
                inv.entries[key] = api_version
                if len(parts) == 5 and parts[4]:
                    inv.templates[key] = parts[4]
        return inv


def _line(key: ObjectKey, api_version: str, template: str) -> str:
    return f"{api_version}|{key.kind}|{key.namespace}|{key.name}|{template.replace('|', '%7C')}"


def _shard_of(key: ObjectKey, count: int) -> int:
    return zlib.crc32(f"{key.group}|{key.kind}|{key.namespace}|{key.name}".encode()) % count


def encode_shards(target: str, lines: Mapping[ObjectKey, str]) -> dict[str, str]:
    """ConfigMap name -> content; the shard count grows with the record so no shard outgrows SHARD_BYTES."""
    size = sum(len(line) + 1 for line in lines.values())
    count = max(1, -(-size * 5 // (SHARD_BYTES * 4)))  # 80 % full on average leaves room for uneven hashing
    while True:
        buckets: list[list[str]] = [[] for _ in range(count)]
        for key, line in lines.items():
            buckets[_shard_of(key, count)].append(line)
        texts = ["".join(f"{line}\n" for line in sorted(b)) for b in buckets]
        if all(len(t.encode()) <= SHARD_BYTES for t in texts):
            return {inventory_name(target, i): t for i, t in enumerate(texts)}
        count *= 2


def _shard_items(kube: Kube, selector: str) -> list[Any]:
    path = f"/api/v1/namespaces/{INVENTORY_NAMESPACE}/configmaps"
    page = kube.request("LIST", "GET", path, {"labelSelector": selector})
    return list(page.get("items") or [])


def read_inventory(kube: Kube, target: str) -> Inventory:
    """This spoke's record: one LIST, plus one GET only when no labelled shard exists (an older record)."""
    items = _shard_items(kube, f"{INVENTORY_FOR_LABEL}={target}")
    if not items:
        try:
            items = [
                kube.request(
                    "GET", "GET", f"/api/v1/namespaces/{INVENTORY_NAMESPACE}/configmaps/{inventory_name(target)}"
                )
            ]
        except NotFound:
            return Inventory(target, found=False)
    texts = {i["metadata"]["name"]: (i.get("data") or {}).get("objects", "") for i in items}
    inv = Inventory.decode(target, texts.values())
    inv.shards = texts
    return inv


def read_other_inventories(kube: Kube, target: str) -> dict[str, Inventory]:
    """Every other spoke's record in this cluster (older, unlabelled records included): one LIST."""
    page = kube.request("LIST", "GET", f"/api/v1/namespaces/{INVENTORY_NAMESPACE}/configmaps")
    texts: dict[str, list[str]] = {}
    for item in page.get("items") or []:
        meta = item.get("metadata") or {}
        spoke = (meta.get("labels") or {}).get(INVENTORY_FOR_LABEL) or _spoke_of(meta.get("name", ""))
        if spoke and spoke != target:
            texts.setdefault(spoke, []).append((item.get("data") or {}).get("objects", ""))
    return {spoke: Inventory.decode(spoke, t) for spoke, t in texts.items()}


def write_inventory(
    kube: Kube,
    previous: Inventory,
    entries: Mapping[ObjectKey, str],
    templates: Mapping[ObjectKey, str],
    ensure_namespace: bool = True,
) -> Inventory:
    """Write the shards that changed and delete shards the record no longer needs."""
    target = previous.target
    inv = Inventory(target, dict(entries), {k: t for k, t in templates.items() if k in entries})
    inv.shards = encode_shards(target, inv.lines(inv.entries, inv.templates))
    query = {"fieldManager": INVENTORY_MANAGER, "force": "true"}
    if ensure_namespace:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": INVENTORY_NAMESPACE}}
        kube.request("APPLY", "PATCH", f"/api/v1/namespaces/{INVENTORY_NAMESPACE}", query, ns, _APPLY)
    # New shards first: when the shard count grows, an entry moves out of an existing shard only after its new
    # shard holds it, so a crash mid-write never drops an entry.
    for name, text in sorted(inv.shards.items(), key=lambda kv: kv[0] in previous.shards):
        if previous.shards.get(name) == text:
            continue
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": INVENTORY_NAMESPACE,
                "labels": {"app.kubernetes.io/managed-by": "razee", INVENTORY_FOR_LABEL: target},
            },
            "data": {"objects": text},
        }
        kube.request("APPLY", "PATCH", f"/api/v1/namespaces/{INVENTORY_NAMESPACE}/configmaps/{name}", query, cm, _APPLY)
    for name in sorted(set(previous.shards) - set(inv.shards)):
        with contextlib.suppress(NotFound):
            kube.request("DELETE", "DELETE", f"/api/v1/namespaces/{INVENTORY_NAMESPACE}/configmaps/{name}")
    return inv
