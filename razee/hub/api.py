"""The hub's HTTP API (FastAPI): agents post reports, people and tools read fleet-wide views.

Every request needs a token. An agent token may write only its own spoke's reports; reads take any valid token.
Report bodies are size-limited and schema-validated before anything is stored.
"""


import json
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from razee import __version__
from razee.hub.auth import Principal, authenticate
from razee.hub.dashboard import render_dashboard
from razee.hub.model import ReportIn
from razee.hub.store import Page, Store
from razee.hub.tokens_api import tokens_router

MAX_REPORT_BYTES = 4 << 20


def create_app(store: Store) -> FastAPI:
    app = FastAPI(title="razee hub", version=__version__, openapi_url="/api/v1/openapi.json", docs_url=None,
                  redoc_url=None)

    def principal(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else request.cookies.get("razee_token")
        who = authenticate(store, token)
        if who is None:
            raise HTTPException(401, "a valid token is required", headers={"WWW-Authenticate": "Bearer"})
        return who

    Who = Annotated[Principal, Depends(principal)]
    Limit = Annotated[int, Query(ge=1, le=1000)]
    Offset = Annotated[int, Query(ge=0, le=10_000_000)]

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    report_schema = ReportIn.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    report_defs = report_schema.pop("$defs", {})

    @app.post("/api/v1/reports", status_code=201, responses={200: {"description": "already stored"},
                                                              403: {}, 413: {}, 422: {}},
              openapi_extra={"requestBody": {"required": True,
                                             "content": {"application/json": {"schema": report_schema}}}})
    async def post_report(request: Request, response: Response, who: Who) -> dict[str, Any]:
        size = 0
        chunks: list[bytes] = []
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_REPORT_BYTES:
                raise HTTPException(413, f"report larger than {MAX_REPORT_BYTES} bytes")
            chunks.append(chunk)
        try:
            body = json.loads(b"".join(chunks))
            report = ReportIn.model_validate(body)
        except (ValueError, ValidationError) as e:
            # field paths and messages only: never echo the input (it could hold what must not be stored)
            detail = ([{"loc": list(err["loc"]), "msg": err["msg"]} for err in e.errors(include_input=False)]
                      if isinstance(e, ValidationError) else "invalid JSON")
            raise HTTPException(422, detail) from None
        if not who.can_report_for(report.spoke):
            raise HTTPException(403, f"this token may not report for spoke {report.spoke}")
        if not await run_in_threadpool(store.ingest, report, body):
            response.status_code = 200
            return {"id": report.id, "stored": False}
        return {"id": report.id, "stored": True}

    @app.get("/api/v1/summary")
    def summary(who: Who) -> dict[str, Any]:
        return store.summary()

    @app.get("/api/v1/spokes")
    def spokes(who: Who, region: str | None = None, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
        return store.spokes(Page(limit, offset), region)

    @app.get("/api/v1/spokes/{name}/history")
    def history(name: str, who: Who, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        return store.history(name, Page(limit, offset))

    @app.get("/api/v1/drift")
    def drift(who: Who, region: str | None = None, spoke: str | None = None, kind: str | None = None,
              namespace: str | None = None, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
        return store.drift(Page(limit, offset), region, spoke, kind, namespace)

    @app.get("/api/v1/failures")
    def failures(who: Who, region: str | None = None, spoke: str | None = None, limit: Limit = 100,
                 offset: Offset = 0) -> dict[str, Any]:
        return store.drift(Page(limit, offset), region, spoke, status="failed")

    @app.get("/api/v1/rollout")
    def rollout(who: Who, revision: str | None = None) -> dict[str, Any]:
        return store.rollout(revision)

    @app.get("/api/v1/rollout/state")
    def rollout_state(who: Who, revision: Annotated[str, Query(min_length=1, max_length=64)]) -> dict[str, Any]:
        return store.rollout_state(revision)

    def admin(who: Principal) -> None:
        if who.role != "admin":
            raise HTTPException(403, "an admin token is required")

    @app.post("/api/v1/rollout/pause")
    def pause(who: Who) -> dict[str, Any]:
        admin(who)
        store.set_paused(f"token {who.token_id}")
        return {"paused": True}

    @app.post("/api/v1/rollout/resume")
    def resume(who: Who) -> dict[str, Any]:
        admin(who)
        store.set_paused("")
        return {"paused": False}

    @app.post("/api/v1/rollout/approve")
    def approve(who: Who, revision: Annotated[str, Query(min_length=1, max_length=64)],
                wave: Annotated[str, Query(min_length=1, max_length=64)]) -> dict[str, Any]:
        admin(who)
        store.approve(revision, wave)
        return {"approved": wave, "revision": revision}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(request: Request, token: str | None = None) -> Response:
        who = authenticate(store, token or request.cookies.get("razee_token"))
        if who is None:
            return HTMLResponse("<h1>razee hub</h1><p>Open this page as /?token=&lt;reader token&gt;.</p>", 401)
        page = HTMLResponse(render_dashboard(store))
        if token:
            page.set_cookie("razee_token", token, httponly=True, samesite="strict")
        return page

    def openapi() -> dict[str, Any]:
        # the report body is read as a size-limited stream, so its schema is published by hand
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
            spec.setdefault("components", {}).setdefault("schemas", {}).update(report_defs)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(tokens_router(store))
    return app
