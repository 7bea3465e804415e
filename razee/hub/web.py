"""The dashboard's routes: a login page, the pages, and the few actions an admin takes from them.

A reader or admin token is POSTed once to /login and kept in an HttpOnly, SameSite=Strict cookie; it never
appears in a URL. SameSite does not separate two ports of one host (they are the same site), so every
cookie-authenticated write also needs a CSRF token: an HMAC of the session under a key the hub keeps in its
database, embedded in the page's forms. A page elsewhere can make the browser send the cookie, never read the
token. The JSON API never accepts the cookie at all (razee/hub/api.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from razee.hub import dashboard
from razee.hub.auth import Principal, authenticate
from razee.hub.schema import RolloutControl
from razee.hub.store import Store
from razee.hub.upsert import upsert

COOKIE = "razee_session"
MAX_FORM = 4096


def _csrf_key(store: Store) -> bytes:
    """One random key per hub database, so every replica of a hub accepts the same CSRF tokens."""
    with store.session() as s:  # replicas starting together: the first key written wins, every one reads it
        s.execute(upsert(s, RolloutControl, {"name": "csrf-key", "value": secrets.token_hex(32)}, ["name"], []))
    with store.session() as s:
        row = s.get(RolloutControl, "csrf-key")
        assert row is not None
        return bytes.fromhex(row.value)


def csrf_token(key: bytes, session: str) -> str:
    return hmac.new(key, hashlib.sha256(session.encode()).digest(), hashlib.sha256).hexdigest()


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def add_web_routes(app: FastAPI, store: Store) -> None:
    keys: list[bytes] = []

    def key() -> bytes:
        if not keys:
            keys.append(_csrf_key(store))
        return keys[0]

    def viewer(request: Request) -> tuple[Principal | None, str]:
        session = request.cookies.get(COOKIE, "")
        who = authenticate(store, session)
        return (who, session) if who is not None and who.role in ("reader", "admin") else (None, "")

    def to_login() -> Response:
        return RedirectResponse("/login", 303)

    def page(html: str) -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                           "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
                                                                      "frame-ancestors 'none'; form-action 'self'",
                                           "Referrer-Policy": "no-referrer"})

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request) -> Response:
        return page(dashboard.login_page(""))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        token = (await _form(request)).get("token", "").strip()
        who = authenticate(store, token)
        if who is None or who.role not in ("reader", "admin"):
            message = ("only reader and admin tokens may sign in" if who is not None
                       else "that token is not valid")
            refused = page(dashboard.login_page(message))
            refused.status_code = 403 if who is not None else 401
            return refused
        response = RedirectResponse("/", 303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        who, session = viewer(request)
        form = await _form(request)
        if who is not None and not hmac.compare_digest(form.get("csrf", ""), csrf_token(key(), session)):
            return HTMLResponse("the form is stale or came from another site", 403)
        response = to_login()
        response.delete_cookie(COOKIE, path="/")
        return response

    def context(who: Principal, session: str) -> dict[str, Any]:
        return {"role": who.role, "csrf": csrf_token(key(), session)}

    @app.get("/", include_in_schema=False)
    def fleet(request: Request) -> Response:
        who, session = viewer(request)
        if who is None:
            return to_login()
        return page(dashboard.fleet_page(store, context(who, session)))

    @app.get("/rollout", include_in_schema=False)
    def rollout(request: Request) -> Response:
        who, session = viewer(request)
        if who is None:
            return to_login()
        return page(dashboard.rollout_page(store, context(who, session)))

    @app.get("/spoke/{name}", include_in_schema=False)
    def spoke(name: str, request: Request) -> Response:
        who, session = viewer(request)
        if who is None:
            return to_login()
        html = dashboard.spoke_page(store, name, context(who, session))
        if html is None:
            return HTMLResponse("no such spoke", 404)
        return page(html)

    @app.post("/ui/rollout/{action}", include_in_schema=False)
    async def act(action: str, request: Request) -> Response:
        who, session = viewer(request)
        form = await _form(request)
        if who is None:
            return HTMLResponse("sign in first", 401)
        if not hmac.compare_digest(form.get("csrf", ""), csrf_token(key(), session)):
            return HTMLResponse("the form is stale or came from another site (CSRF token missing or wrong)", 403)
        if who.role != "admin":
            return HTMLResponse("an admin token is required", 403)
        if action == "pause":
            store.set_paused(f"token {who.token_id} (dashboard)")
        elif action == "resume":
            store.set_paused("")
        elif action == "approve" and form.get("revision") and form.get("wave"):
            store.approve(store.resolve_revision(form["revision"][:64]), form["wave"][:64],
                          f"token {who.token_id} (dashboard)")
        else:
            return HTMLResponse("unknown action", 400)
        return RedirectResponse("/rollout", 303)
