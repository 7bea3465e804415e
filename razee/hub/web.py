"""The dashboard's routes: a login page, the pages, and the few actions an admin takes from them.

A reader or admin token is POSTed once to /login, which starts a server-side session (razee/hub/sessions.py); the
cookie carries only the session's random id, never the token, and nothing ever appears in a URL. Sign-in refuses
a POST from another origin (razee/hub/web_policy.py), so another site cannot sign a browser in as its own reader.

One SameSite policy, Strict, for the one cookie the hub sets (setting and clearing it alike): a link or a form from
any other site arrives without it. There is no CSRF cookie: SameSite does not separate two ports of one host (they
are the same site), so every cookie-authenticated write also needs a CSRF token, an HMAC of the session id under a
key the hub keeps in its database, embedded in the page's forms. A page elsewhere can make the browser send the
cookie, never read the token. The JSON API never accepts the cookie at all (razee/hub/api.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from razee.hub import dashboard, sessions
from razee.hub.auth import Principal, authenticate
from razee.hub.schema import RolloutControl
from razee.hub.store import Store
from razee.hub.upsert import upsert
from razee.hub.web_policy import WebSettings, cookie_secure, same_origin

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


def add_web_routes(app: FastAPI, store: Store, settings: WebSettings | None = None) -> None:
    keys: list[bytes] = []
    web = settings or WebSettings()

    def key() -> bytes:
        if not keys:
            keys.append(_csrf_key(store))
        return keys[0]

    def viewer(request: Request) -> tuple[Principal | None, str]:
        session = request.cookies.get(COOKIE, "")
        who = sessions.resolve(store, session)
        return (who, session) if who is not None else (None, "")

    def to_login() -> Response:
        return RedirectResponse("/login", 303)

    def page(html: str) -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                           "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
                                                                      "frame-ancestors 'none'; form-action 'self'",
                                           "Referrer-Policy": "same-origin"})

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request) -> Response:
        return page(dashboard.login_page(""))

    def set_cookie(response: Response, request: Request, value: str, max_age: int) -> None:
        response.set_cookie(COOKIE, value, max_age=max_age, httponly=True, samesite="strict", path="/",
                            secure=cookie_secure(web, request))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        if not same_origin(web, request):
            return HTMLResponse("sign-in must come from the hub's own page (the Origin is another site's)", 403)
        token = (await _form(request)).get("token", "").strip()
        who = authenticate(store, token)
        if who is None or who.role not in ("reader", "admin"):
            message = ("only reader and admin tokens may sign in" if who is not None
                       else "that token is not valid")
            refused = page(dashboard.login_page(message))
            refused.status_code = 403 if who is not None else 401
            return refused
        sessions.end(store, request.cookies.get(COOKIE))  # a sign-in never continues an earlier session
        session = sessions.start(store, who)
        response = RedirectResponse("/", 303)
        set_cookie(response, request, session, int(sessions.SESSION_SECONDS))
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        who, session = viewer(request)
        form = await _form(request)
        if who is not None and not hmac.compare_digest(form.get("csrf", ""), csrf_token(key(), session)):
            return HTMLResponse("the form is stale or came from another site", 403)
        sessions.end(store, session)
        response = to_login()
        set_cookie(response, request, "", 0)
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
