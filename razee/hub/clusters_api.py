"""Customer clusters and the fleet's sources: list and filter, one cluster, fleet-wide counts, sources by chart."""

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from razee.hub import clusters
from razee.hub.auth import Principal
from razee.hub.deps import Limit, Name, Offset
from razee.hub.store import Store

State = Annotated[
    Literal["in-sync", "progressing", "drifted", "failed", "never-reported", "undeclared"] | None, Query()
]
Version = Annotated[str | None, Query(max_length=32, pattern=r"^[0-9A-Za-z.+-]*$")]


def clusters_router(store: Store, principal: Callable[[Request], Principal]) -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    Who = Annotated[Principal, Depends(principal)]

    @router.get("/clusters")
    def cluster_list(
        who: Who,
        region: Name = None,
        spoke: Name = None,
        version: Version = None,
        state: State = None,
        prefix: Name = None,
        after: Name = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Clusters in name order; `after` (the previous page's `next`) pages by key, `offset` by position."""
        f = clusters.ClusterFilter(region, spoke, version, state, prefix)
        return clusters.list_clusters(store, f, limit, after, offset)

    @router.get("/clusters/{name}")
    def cluster(name: str, who: Who) -> dict[str, Any]:
        detail = clusters.cluster_detail(store, name[:253])
        if detail is None:
            raise HTTPException(404, f"no cluster {name[:253]} is declared or has been reported")
        return detail

    @router.get("/cluster-counts")
    def cluster_counts(who: Who) -> dict[str, Any]:
        return clusters.counts(store)

    @router.get("/sources")
    def sources(who: Who, chart: Name = None) -> dict[str, Any]:
        return clusters.sources(store, chart)

    return router
