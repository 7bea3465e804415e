"""The soak's look at a spoke's cluster itself, not at what razee says about it: its kube-apiserver's answers over
HTTPS with the cluster's own admin token (from the kubeconfig testenv wrote).

`truth()` compares a cluster with what a revision declares for it: every declared object present (ConfigMaps with
the declared data), nothing labelled as this spoke's left over, and razee's inventory naming exactly the declared
set. It returns the problems found, in words; an empty list is a cluster that runs the revision and nothing else.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import httpx

from tests.helpers.soak_fleet import MARKER, Expected, Key

INVENTORY_LABEL = "razee.io/inventory"
INVENTORY_FOR_LABEL = "razee.io/inventory-for"
TIMEOUT = 30.0


class Cluster:
    """One spoke's kube-apiserver, read with its admin token; discovery remembered per API group."""

    def __init__(self, spoke: str, kubeconfig: str) -> None:
        self.spoke = spoke
        self.kubeconfig = kubeconfig
        doc = json.loads(Path(kubeconfig).read_text())
        cluster = doc["clusters"][0]["cluster"]
        self.server = str(cluster["server"])
        ctx = ssl.create_default_context(cafile=cluster["certificate-authority"])
        ctx.check_hostname = False
        self.http = httpx.Client(
            base_url=self.server,
            verify=ctx,
            timeout=TIMEOUT,
            headers={"Authorization": f"Bearer {doc['users'][0]['user']['token']}"},
        )
        self.kinds: dict[tuple[str, str], tuple[str, str, bool]] = {}  # (group, kind) -> (base, plural, namespaced)

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: str) -> dict[str, Any] | None:
        r = self.http.get(path, params=params)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        doc: dict[str, Any] = r.json()
        return doc

    def marker(self) -> int | None:
        """The soak step this cluster's marker ConfigMap names, None if it has none (or cannot be asked)."""
        try:
            cm = self.get(f"/api/v1/namespaces/{MARKER[0]}/configmaps/{MARKER[1]}")
        except httpx.HTTPError:
            return None
        return int(cm["data"]["step"]) if cm else None

    def _discover(self, group: str) -> None:
        if group == "":
            bases = ["/api/v1"]
        else:
            doc = self.get(f"/apis/{group}")
            if doc is None:
                return
            bases = [f"/apis/{doc['preferredVersion']['groupVersion']}"]
        for base in bases:
            for res in (self.get(base) or {}).get("resources", []):
                if "/" not in res["name"]:
                    self.kinds[(group, res["kind"])] = (base, res["name"], bool(res["namespaced"]))

    def resource(self, group: str, kind: str) -> tuple[str, str, bool] | None:
        if (group, kind) not in self.kinds:
            self._discover(group)  # a CRD the fleet installed since the last look
        return self.kinds.get((group, kind))

    def labelled(self, group: str, kind: str) -> dict[Key, dict[str, Any]]:
        """Every object of a kind, in every namespace, that carries this spoke's inventory label."""
        found = self.resource(group, kind)
        if found is None:
            return {}
        base, plural, _ = found
        doc = self.get(f"{base}/{plural}", labelSelector=f"{INVENTORY_LABEL}={self.spoke}") or {}
        out = {}
        for item in doc.get("items") or []:
            meta = item["metadata"]
            out[Key(group, kind, meta.get("namespace") or "", meta["name"])] = item
        return out

    def inventory(self) -> set[Key]:
        """What razee's in-cluster inventory (ConfigMaps in razee-system) records for this spoke."""
        doc = self.get(
            "/api/v1/namespaces/razee-system/configmaps", labelSelector=f"{INVENTORY_FOR_LABEL}={self.spoke}"
        )
        keys = set()
        for item in (doc or {}).get("items") or []:
            for line in ((item.get("data") or {}).get("objects") or "").splitlines():
                parts = line.split("|")
                if len(parts) in (4, 5):
                    keys.add(Key(parts[0].rpartition("/")[0], parts[1], parts[2], parts[3]))
        return keys

    def truth(self, expected: Expected) -> list[str]:
        """What differs between this cluster and the revision's declaration for it (empty: nothing)."""
        try:
            return self._truth(expected)
        except httpx.HTTPError as e:
            return [f"{self.spoke}: the apiserver cannot be read ({type(e).__name__}: {e})"]

    def _truth(self, expected: Expected) -> list[str]:
        inventory = self.inventory()
        kinds = {(k.group, k.kind) for k in (*expected.objects, *inventory)}
        live: dict[Key, dict[str, Any]] = {}
        for group, kind in sorted(kinds):
            live.update(self.labelled(group, kind))
        problems = [f"{self.spoke}: missing {k}" for k in sorted(expected.objects, key=str) if k not in live]
        for key, obj in sorted(live.items(), key=lambda kv: str(kv[0])):
            if key not in expected.objects:
                state = "terminating" if obj["metadata"].get("deletionTimestamp") else "left over"
                problems.append(f"{self.spoke}: {state}: {key}")
            elif obj["metadata"].get("deletionTimestamp"):
                problems.append(f"{self.spoke}: declared but terminating: {key}")
        for key, data in expected.configmaps.items():
            got = (live.get(key) or {}).get("data") or {}
            if key in live and {k: str(v) for k, v in got.items()} != data:
                changed = sorted(k for k in set(data) | set(got) if data.get(k) != got.get(k))
                problems.append(f"{self.spoke}: {key} data differs in {', '.join(changed)}")
        if inventory != set(expected.objects):
            extra, lacking = inventory - set(expected.objects), set(expected.objects) - inventory
            problems.append(
                f"{self.spoke}: inventory differs: {len(extra)} extra ({_few(extra)}), "
                f"{len(lacking)} lacking ({_few(lacking)})"
            )
        return problems


def _few(keys: set[Key]) -> str:
    return ", ".join(str(k) for k in sorted(keys, key=str)[:3])
