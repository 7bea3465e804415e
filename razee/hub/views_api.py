"""Fleet-wide views for people and tools: summary, spokes, history, drift, failures, rollouts and revisions."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from razee.hub import rollout_view, views
from razee.hub.auth import Principal
from razee.hub.deps import Limit, Name, Offset
from razee.hub.store import Page, Store


def views_router(store: Store, principal: Callable[[Request], Principal]) -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    _spoke_routes(router, store, principal)
    _fleet_routes(router, store, principal)
    return router


def _spoke_routes(router: APIRouter, store: Store, principal: Callable[[Request], Principal]) -> None:
    """The fleet's summary and its spokes: the list, one spoke's page, and its history."""
    Who = Annotated[Principal, Depends(principal)]

    @router.get("/summary")
    def summary(who: Who) -> dict[str, Any]:
        return views.summary(store)

    @router.get("/spokes")
    def spokes(who: Who, region: Name = None, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
        return views.spokes(store, Page(limit, offset), region)

    @router.get("/spokes/{name}")
    def spoke(name: str, who: Who) -> dict[str, Any]:
        detail = views.spoke_detail(store, name)
        if detail is None:
            raise HTTPException(404, f"no spoke {name} is declared or has reported")
        return detail

    @router.get("/spokes/{name}/history")
    def history(name: str, who: Who, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        if not views.spoke_known(store, name):
            raise HTTPException(404, f"no spoke {name} is declared or has reported")
        return store.history(name, Page(limit, offset))


def _fleet_routes(router: APIRouter, store: Store, principal: Callable[[Request], Principal]) -> None:
    """Fleet-wide lists (drift, failures), a revision's rollout, and the revisions the hub knows."""
    Who = Annotated[Principal, Depends(principal)]

    @router.get("/drift")
    def drift(
        who: Who,
        region: Name = None,
        spoke: Name = None,
        kind: Name = None,
        namespace: Name = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        return store.objects(Page(limit, offset), region, spoke, kind, namespace)

    @router.get("/failures")
    def failures(
        who: Who, region: Name = None, spoke: Name = None, limit: Limit = 100, offset: Offset = 0
    ) -> dict[str, Any]:
        return store.objects(Page(limit, offset), region, spoke, statuses=("failed",))

    @router.get("/rollout")
    def rollout(who: Who, revision: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
        return rollout_view.rollout(store, revision)

    @router.get("/revisions")
    def revisions(who: Who, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
        return {
            "items": [
                {
                    "revision": r.revision,
                    "firstSeen": r.first_seen,
                    "author": r.author,
                    "message": r.message,
                    "committedAt": r.committed_at,
                    "declared": r.declared is not None,
                    "error": r.error,
                }
                for r in store.revisions(limit)
            ]
        }
