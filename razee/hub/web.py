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

from razee.hub import sessions
from razee.hub.auth import Principal
from razee.hub.schema import RolloutControl
from razee.hub.store import Store
from razee.hub.upsert import upsert
from razee.hub.web_policy import WebSettings, cookie_secure

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


async def form_of(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


class WebContext:
    """What every dashboard route needs: who the session is, the CSRF key, and the page and cookie policies."""

    def __init__(self, store: Store, settings: WebSettings | None = None) -> None:
        self.store = store
        self.web = settings or WebSettings()
        self._key: bytes | None = None

    def key(self) -> bytes:
        if self._key is None:
            self._key = _csrf_key(self.store)
        return self._key

    def viewer(self, request: Request) -> tuple[Principal | None, str]:
        session = request.cookies.get(COOKIE, "")
        who = sessions.resolve(self.store, session)
        return (who, session) if who is not None else (None, "")

    def csrf_ok(self, form: dict[str, str], session: str) -> bool:
        return hmac.compare_digest(form.get("csrf", ""), csrf_token(self.key(), session))

    def context(self, who: Principal, session: str) -> dict[str, Any]:
        return {"role": who.role, "csrf": csrf_token(self.key(), session)}

    def set_cookie(self, response: Response, request: Request, value: str, max_age: int) -> None:
        response.set_cookie(
            COOKIE,
            value,
            max_age=max_age,
            httponly=True,
            samesite="strict",
            path="/",
            secure=cookie_secure(self.web, request),
        )


def to_login() -> Response:
    return RedirectResponse("/login", 303)


def page(html: str) -> HTMLResponse:
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
            "frame-ancestors 'none'; form-action 'self'",
            "Referrer-Policy": "same-origin",
        },
    )


def add_web_routes(app: FastAPI, store: Store, settings: WebSettings | None = None) -> None:
    from razee.hub.web_auth import auth_router
    from razee.hub.web_cluster_pages import cluster_pages_router
    from razee.hub.web_pages import pages_router

    ctx = WebContext(store, settings)
    app.include_router(auth_router(ctx))
    app.include_router(pages_router(ctx))
    app.include_router(cluster_pages_router(ctx))
