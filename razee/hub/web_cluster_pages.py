"""The dashboard's customer-cluster pages: the clusters list, one cluster, the fleet's sources (signed in only)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from razee.hub import dashboard_clusters
from razee.hub.web import WebContext, page, to_login


def cluster_pages_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    store = ctx.store

    @router.get("/clusters")
    def cluster_list(request: Request) -> Response:
        who, session = ctx.viewer(request)
        if who is None:
            return to_login()
        return page(dashboard_clusters.clusters_page(store, ctx.context(who, session), dict(request.query_params)))

    @router.get("/cluster/{name}")
    def cluster(name: str, request: Request) -> Response:
        who, session = ctx.viewer(request)
        if who is None:
            return to_login()
        html = dashboard_clusters.cluster_page(store, name, ctx.context(who, session))
        if html is None:
            return HTMLResponse("no such cluster", 404)
        return page(html)

    @router.get("/sources")
    def sources(request: Request) -> Response:
        who, session = ctx.viewer(request)
        if who is None:
            return to_login()
        chart = request.query_params.get("chart", "")
        return page(dashboard_clusters.sources_page(store, ctx.context(who, session), chart))

    return router
