"""What a request may bring into the hub before a route sees it: a body no larger than its route allows, and a
path, query and cookies without control characters.

Both checks are pure ASGI middleware around the whole app, so every route has them, routes added later too. The
body limit holds while the body is read, never after: a declared Content-Length over the limit fails the first
read, and a chunked body fails as soon as its count passes the limit. Nothing buffers more than the limit plus one
chunk (uvicorn pauses reading at 64 KiB until the app takes it). Routes read their bodies after authenticating,
so a request without a token is a 401 whatever its body; /login's token is in its body, so there the 4 kB limit is
what protects. The 413 names the limit and closes the connection: the rest of the body is never read.

A NUL cannot be stored in PostgreSQL's text, and no name, filter or cookie the hub knows holds a control
character, so such a request is a 422 here, before it can reach a query (issue 24: `%00` in a path was a 500).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from fastapi.routing import APIRoute
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_BYTES = 4096
"""The dashboard's forms (/login, /logout, /ui/...): a token, a CSRF token, a revision and a wave."""
JSON_BYTES = 16 << 10
"""Every other route: admin JSON (/api/v1/tokens) is a few fields, and reads and probes carry no body."""
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0, DEL and C1: nothing the hub stores or looks up may hold one (PostgreSQL's text refuses NUL outright)."""
CONTROL_MESSAGE = "control characters (NUL, newline, escape, ...) are not allowed here"


class BodyTooLarge(HTTPException):
    """Raised from a read: FastAPI answers it like any HTTPException, and the report route counts it."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"request body larger than this route's limit of {limit} bytes", headers={"Connection": "close"}
        )


def _shown(name: str) -> str:
    """A query or cookie name as it may be echoed: escapes instead of control characters, and short."""
    return name.encode("unicode_escape").decode("ascii")[:64]


def control_characters(scope: Scope) -> list[dict[str, Any]]:
    """Where the request line or a cookie holds a control character, in FastAPI's 422 detail format."""
    found: list[dict[str, Any]] = []
    if CONTROL.search(scope.get("path", "")):
        found.append({"loc": ["path"], "msg": CONTROL_MESSAGE})
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if CONTROL.search(name) or CONTROL.search(value):
            found.append({"loc": ["query", _shown(name)], "msg": CONTROL_MESSAGE})
    for header, value in scope.get("headers", ()):
        if header == b"cookie":
            for name, cookie in cookie_parser(value.decode("latin-1")).items():
                if CONTROL.search(name) or CONTROL.search(cookie):
                    found.append({"loc": ["cookie", _shown(name)], "msg": CONTROL_MESSAGE})
    return found[:20]


class Ingress:
    """The hub's outermost middleware: control characters refused, bodies bounded per route while read.

    `limits` maps a path to its limit in bytes; a key ending in "/" covers every path under it. Any other path
    gets `default`.
    """

    def __init__(self, app: ASGIApp, limits: Mapping[str, int], default: int = JSON_BYTES) -> None:
        self.app = app
        self.exact = {p: n for p, n in limits.items() if not p.endswith("/")}
        self.prefixes = sorted(((p, n) for p, n in limits.items() if p.endswith("/")), key=lambda x: -len(x[0]))
        self.default = default

    def limit_for(self, path: str) -> int:
        if path in self.exact:
            return self.exact[path]
        return next((n for p, n in self.prefixes if path.startswith(p)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = control_characters(scope)
        if refused:
            await _answer(send, 422, {"detail": refused})
            return
        limit = self.limit_for(scope["path"])
        headers = dict(scope.get("headers", ()))
        declared = headers.get(b"content-length", b"").strip()
        has_body = (declared not in (b"", b"0")) or b"transfer-encoding" in headers
        # h11 refuses a Content-Length that is not a number before the app is called
        too_long = declared.isdigit() and int(declared) > limit
        read = 0
        finished = not has_body
        started = False

        async def bounded() -> Message:
            nonlocal read, finished
            if too_long:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    raise BodyTooLarge(limit)
                finished = not message.get("more_body", False)
            else:
                finished = True
            return message

        async def closing(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not finished:  # the client is still sending a body nobody reads: do not drain it
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, bounded, closing)
        except BodyTooLarge as e:  # raised where no route handled it (a read outside a request handler)
            if started:
                raise
            await _answer(send, 413, {"detail": e.detail}, close=True)


async def _answer(send: Send, status: int, body: dict[str, Any], close: bool = False) -> None:
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


def _query_names(dependant: Any) -> set[str]:
    names = {f.alias for f in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def refuse_unknown_query(request: Request) -> None:
    """A query parameter the route does not take is a 422 that names it: `?status=bogus` filters nothing, and
    silently answering everything would look like an answer to the question asked. Called after authenticating,
    so an unauthenticated request is a 401 whatever its query."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _query_names(route.dependant)  # a handful of fields: cheaper than caching by a route (unhashable)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", _shown(name)],
                    "msg": f"unknown query parameter; this route takes {', '.join(sorted(known))}"
                    if known
                    else "unknown query parameter; this route takes none",
                }
                for name in unknown[:20]
            ],
        )
