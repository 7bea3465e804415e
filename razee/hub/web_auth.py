"""Signing in and out of the dashboard: a reader or admin token starts a server-side session (razee/hub/web.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from razee.hub import dashboard, sessions
from razee.hub.auth import authenticate
from razee.hub.web import COOKIE, WebContext, form_of, page, to_login
from razee.hub.web_policy import same_origin


def auth_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    store = ctx.store

    @router.get("/login")
    def login_page(request: Request) -> Response:
        return page(dashboard.login_page(""))

    @router.post("/login")
    async def login(request: Request) -> Response:
        if not same_origin(ctx.web, request):
            return HTMLResponse("sign-in must come from the hub's own page (the Origin is another site's)", 403)
        token = (await form_of(request)).get("token", "").strip()
        who = authenticate(store, token)
        if who is None or who.role not in ("reader", "admin"):
            message = "only reader and admin tokens may sign in" if who is not None else "that token is not valid"
            refused = page(dashboard.login_page(message))
            refused.status_code = 403 if who is not None else 401
            return refused
        sessions.end(store, request.cookies.get(COOKIE))  # a sign-in never continues an earlier session
        session = sessions.start(store, who)
        response = RedirectResponse("/", 303)
        ctx.set_cookie(response, request, session, int(sessions.SESSION_SECONDS))
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        who, session = ctx.viewer(request)
        form = await form_of(request)
        if who is not None and not ctx.csrf_ok(form, session):
            return HTMLResponse("the form is stale or came from another site", 403)
        sessions.end(store, session)
        response = to_login()
        ctx.set_cookie(response, request, "", 0)
        return response

    return router
