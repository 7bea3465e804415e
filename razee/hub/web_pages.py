"""The dashboard's pages (fleet, rollout, spoke) and the rollout actions an admin takes from them."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from razee.hub import dashboard, views
from razee.hub.web import WebContext, form_of, page, to_login


def pages_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    store = ctx.store

    @router.get("/")
    def fleet(request: Request) -> Response:
        who, session = ctx.viewer(request)
        if who is None:
            return to_login()
        return page(dashboard.fleet_page(store, ctx.context(who, session)))

    @router.get("/rollout")
    def rollout(request: Request) -> Response:
        who, session = ctx.viewer(request)
        if who is None:
            return to_login()
        return page(dashboard.rollout_page(store, ctx.context(who, session)))

    @router.get("/spoke/{name}")
    def spoke(name: str, request: Request) -> Response:
        who, session = ctx.viewer(request)
        if who is None:
            return to_login()
        html = dashboard.spoke_page(store, name, ctx.context(who, session))
        if html is None:
            return HTMLResponse("no such spoke", 404)
        return page(html)

    @router.post("/ui/rollout/{action}")
    async def act(action: str, request: Request) -> Response:
        who, session = ctx.viewer(request)
        form = await form_of(request)
        if who is None:
            return HTMLResponse("sign in first", 401)
        if not ctx.csrf_ok(form, session):
            return HTMLResponse("the form is stale or came from another site (CSRF token missing or wrong)", 403)
        if who.role != "admin":
            return HTMLResponse("an admin token is required", 403)
        if action == "pause":
            store.set_paused(f"token {who.token_id} (dashboard)")
        elif action == "resume":
            store.set_paused("")
        elif action == "approve" and form.get("revision") and form.get("wave"):
            full = store.resolve_revision(form["revision"][:64])
            refused = views.approval_refused(store, full, form["wave"][:64])
            if refused:  # as the API answers: an unknown revision or wave is named, and nothing is recorded
                return HTMLResponse(refused, 404)
            store.approve(full, form["wave"][:64], f"token {who.token_id} (dashboard)")
        else:
            return HTMLResponse("unknown action", 400)
        return RedirectResponse("/rollout", 303)

    return router
