"""Which REST resource serves a kind, and whether it is namespaced.

Discovery is lazy and cached for one pass. A pass that needs several group-versions asks once for all of them:
aggregated discovery (`apidiscovery.k8s.io/v2`, GA in Kubernetes 1.30) answers every group and version in two
requests, `/api` and `/apis`, which is what kubectl does too. A server that does not offer it answers the same
requests with plain version lists, and razee then fetches only the group-versions the desired set or the
inventory mention, one request each, side by side. After CRDs are applied, `forget` drops a group-version so it
is looked up again.
The agent's loop carries the answers from pass to pass for a few minutes (`next_pass`), asking again for a kind
it does not find, so an idle pass needs no discovery at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from razee.kube.client import Kube
from razee.kube.errors import NotFound

PREFETCH_CONCURRENCY = 6
# Aggregated discovery first (v2, then the 1.26-1.29 beta), the plain lists otherwise: the server picks.
AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)
# With fewer group-versions to find than this, asking for each is as quick as asking for all.
AGGREGATE_FROM = 3


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    listable: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_path(self, namespace: str | None, name: str) -> str:
        return f"{self.collection_path(namespace)}/{name}"


class UnknownKind(Exception):
    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(f"the server does not serve {kind} in {api_version}")
        self.api_version = api_version
        self.kind = kind


class Discovery:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._cache: dict[str, dict[str, Resource]] = {}
        self._lock = threading.Lock()
        self._carried: set[str] = set()  # looked up in an earlier pass: a kind missing there is asked again
        self._aggregated: bool | None = None  # whether the server offers aggregated discovery (None: not asked)
        self._preferred: list[str] = []  # from the aggregated answer: each group's preferred version, core first
        self.created = time.monotonic()

    def next_pass(self, kube: Kube) -> None:
        """Carry the answers into another pass of a long-running agent (on `kube`). Kinds served then are
        assumed served now; a kind that was missing is asked for again, so a CRD created since is found."""
        with self._lock:
            self.kube = kube
            self._carried = set(self._cache)

    def _group_version(self, api_version: str) -> dict[str, Resource]:
        with self._lock:
            cached = self._cache.get(api_version)
        if cached is not None:
            return cached
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        group, _, version = api_version.rpartition("/")
        try:
            doc = self.kube.request("DISCOVERY", "GET", path)
        except NotFound:
            doc = {"resources": []}
        kinds: dict[str, Resource] = {}
        for r in doc.get("resources", []):
            if "/" in r["name"]:  # subresources such as deployments/status
                continue
            kinds[r["kind"]] = Resource(
                group, version, r["kind"], r["name"], bool(r["namespaced"]), "list" in (r.get("verbs") or [])
            )
        with self._lock:  # two threads may both have asked; either answer is the same
            return self._cache.setdefault(api_version, kinds)

    def prefetch(self, api_versions: Iterable[str]) -> None:
        """Look up several group-versions at once: all of them in two requests where the server offers aggregated
        discovery, otherwise side by side, one round trip instead of one per group."""
        with self._lock:
            todo = sorted({v for v in api_versions if v not in self._cache})
        if len(todo) >= AGGREGATE_FROM and self._aggregated is not False and self._load_aggregated():
            with self._lock:
                todo = [v for v in todo if v not in self._cache]  # not served, or stale: asked for one by one
        if len(todo) > 1:
            with ThreadPoolExecutor(max_workers=min(PREFETCH_CONCURRENCY, len(todo))) as pool:
                list(pool.map(self._group_version, todo))

    def resource(self, api_version: str, kind: str) -> Resource:
        found = self._group_version(api_version).get(kind)
        if found is None and api_version in self._carried:
            self.forget(api_version)
            found = self._group_version(api_version).get(kind)
        if found is None:
            raise UnknownKind(api_version, kind)
        return found

    def _load_aggregated(self) -> bool:
        """Every group-version in two requests, if the server offers aggregated discovery; False if it does not."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            docs = list(
                pool.map(
                    lambda path: self.kube.request("DISCOVERY", "GET", path, accept=AGGREGATED_ACCEPT),
                    ("/api", "/apis"),
                )
            )
        if any(not isinstance(d, dict) or d.get("kind") != "APIGroupDiscoveryList" for d in docs):
            self._aggregated = False
            return False
        found, preferred = parse_aggregated(docs)
        with self._lock:
            for api_version, kinds in found.items():
                self._cache.setdefault(api_version, kinds)
            self._preferred = preferred
            self._aggregated = True
        return True

    def preferred_versions(self) -> list[str]:
        """Every group-version the server prefers (core `v1` first): two requests, made only to rebuild a lost
        inventory, never on an ordinary pass."""
        if self._aggregated is not False and self._load_aggregated():
            return list(self._preferred)
        versions = [str(v) for v in (self.kube.request("DISCOVERY", "GET", "/api").get("versions") or [])][:1]
        for g in self.kube.request("DISCOVERY", "GET", "/apis").get("groups") or []:
            preferred = (g.get("preferredVersion") or {}).get("groupVersion")
            if preferred:
                versions.append(str(preferred))
        return versions

    def resources(self, api_version: str) -> list[Resource]:
        return list(self._group_version(api_version).values())

    def forget(self, api_version: str) -> None:
        with self._lock:
            self._cache.pop(api_version, None)
            self._carried.discard(api_version)


def parse_aggregated(docs: Iterable[Any]) -> tuple[dict[str, dict[str, Resource]], list[str]]:
    """Resources by group-version from APIGroupDiscoveryList documents, and each group's preferred (first listed)
    version. A version the server marks Stale (an aggregated API server it cannot reach) is left out, so it is
    asked for directly, as without aggregation."""
    found: dict[str, dict[str, Resource]] = {}
    preferred: list[str] = []
    for doc in docs:
        for item in doc.get("items") or []:
            group = str((item.get("metadata") or {}).get("name") or "")
            for i, ver in enumerate(item.get("versions") or []):
                version = str(ver.get("version"))
                api_version = f"{group}/{version}" if group else version
                if i == 0:
                    preferred.append(api_version)
                if ver.get("freshness") == "Stale":
                    continue
                kinds: dict[str, Resource] = {}
                for r in ver.get("resources") or []:
                    kind = str((r.get("responseKind") or {}).get("kind") or "")
                    if kind:
                        kinds[kind] = Resource(
                            group,
                            version,
                            kind,
                            str(r["resource"]),
                            r.get("scope") == "Namespaced",
                            "list" in (r.get("verbs") or []),
                        )
                found[api_version] = kinds
    return found, preferred
