"""The hub's HTTP API (FastAPI): agents post reports, people and tools read fleet-wide views.

Every API request carries its token in the Authorization header, never in a cookie: a browser attaches cookies to
requests other sites make, so a cookie must never authorise an API write (the dashboard has its own routes with a
CSRF token, razee/hub/web.py). An agent token may write only its own spoke's reports; reads take any valid token.
Every body is bounded while it is read, and read only after the token was checked (razee/hub/ingress.py); report
bodies are schema-validated before anything is stored: a bad one is a 422 that changes nothing. Every input the
API accepts fits both databases' columns, so none can reach a 500 (razee/hub/model.py).
"""


import asyncio
import json
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import text

from razee import __version__
from razee.hub import views
from razee.hub.auth import Principal, authenticate
from razee.hub.fairness import Fairness
from razee.hub.ingress import CONTROL_MESSAGE, FORM_BYTES, Ingress, refuse_unknown_query
from razee.hub.metrics import HubMetrics, add_metrics, rejection_reason
from razee.hub.model import CLEAN_PATTERNS, KUBE_NAME_PATTERNS, ReportIn
from razee.hub.store import Page, Store
from razee.hub.tokens_api import tokens_router
from razee.hub.watch import FleetWatch
from razee.hub.web import add_web_routes
from razee.hub.web_policy import WebSettings

MAX_REPORT_BYTES = 4 << 20
"""The largest report body; the agent trims its reports to fit (razee/agent/report.py)."""
BODY_LIMITS = {"/api/v1/reports": MAX_REPORT_BYTES, "/login": FORM_BYTES, "/logout": FORM_BYTES, "/ui/": FORM_BYTES}
"""Per route (a trailing "/" covers a subtree); every other route takes ingress.JSON_BYTES."""
READY_TIMEOUT = 5.0
"""/readyz waits this long for the database before it answers 503 (a probe's own timeout is often 1 s more)."""
MAX_FUTURE_SKEW = 86_400.0
"""A report stamped more than a day ahead of the hub's clock comes from a broken clock: refused."""
LARGE_REPORT = 256 << 10
LARGE_AT_ONCE = 2
"""Reports above LARGE_REPORT are parsed two at a time: a burst of 4 MB reports keeps the hub's memory bounded."""


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_report(raw: bytes) -> tuple[ReportIn, str]:
    """The validated report and its text; ValueError or ValidationError (422) for anything else."""
    try:
        text = raw.decode("utf-8")
        body = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(body, dict):
        raise ValueError("a report is a JSON object")
    return ReportIn.model_validate(body), text


def _error_message(err: ErrorDetails) -> str:
    """Pydantic's message, but a pattern that only keeps control characters out says so in words."""
    pattern = str((err.get("ctx") or {}).get("pattern", ""))
    if err["type"] == "string_pattern_mismatch" and pattern in CLEAN_PATTERNS:
        return CONTROL_MESSAGE
    if err["type"] == "string_pattern_mismatch" and pattern in KUBE_NAME_PATTERNS:
        return f"{KUBE_NAME_PATTERNS[pattern]}, as Kubernetes requires"
    return err["msg"]


def _database_answers(store: Store) -> None:
    with store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def create_app(store: Store, on_new_revision: Callable[[], None] | None = None,
               metrics: HubMetrics | None = None, web: WebSettings | None = None) -> FastAPI:
    """The hub's app; `on_new_revision` is called when an agent asks about a revision the hub has not read from
    the fleet repo yet (the repo follower looks at once instead of at its next poll). `metrics` carries the
    fleet watcher that each stored report nudges (notifications look at the fleet after it); `web` the dashboard's
    cookie and origin settings (razee/hub/web_policy.py)."""
    app = FastAPI(title="razee hub", version=__version__, openapi_url="/api/v1/openapi.json", docs_url=None,
                  redoc_url=None)
    large = asyncio.Semaphore(LARGE_AT_ONCE)
    fair = Fairness()  # each token's reports in flight are capped: a 429 past the cap (razee/hub/fairness.py)
    metrics = metrics or HubMetrics(FleetWatch(store))
    add_metrics(app, metrics)

    def principal(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        who = authenticate(store, header[7:] if header.lower().startswith("bearer ") else None)
        if who is None:
            if request.url.path == "/api/v1/reports":
                metrics.rejected.labels("unauthenticated").inc()
            raise HTTPException(401, "a valid token is required in the Authorization header",
                                headers={"WWW-Authenticate": "Bearer"})
        refuse_unknown_query(request)
        return who

    Who = Annotated[Principal, Depends(principal)]
    Limit = Annotated[int, Query(ge=1, le=1000)]
    Offset = Annotated[int, Query(ge=0, le=10_000_000)]
    Name = Annotated[str | None, Query(max_length=253)]

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """Liveness: the process serves. It never looks at the database, so an outage restarts nothing."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        """Readiness: the database answers. While it does not, the hub is taken out of its Service's endpoints."""
        try:
            await asyncio.wait_for(run_in_threadpool(_database_answers, store), READY_TIMEOUT)
        except Exception as e:  # any failure to reach it: the answer is "not ready", never a 500
            return JSONResponse({"status": "database unreachable", "error": type(e).__name__}, 503)
        return JSONResponse({"status": "ok"})

    report_schema = ReportIn.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    report_defs = report_schema.pop("$defs", {})

    @app.post("/api/v1/reports", status_code=201, responses={200: {"description": "already stored"},
                                                              403: {}, 413: {}, 422: {}, 429: {}},
              openapi_extra={"requestBody": {"required": True,
                                             "content": {"application/json": {"schema": report_schema}}}})
    async def post_report(request: Request, response: Response, who: Who) -> dict[str, Any]:
        try:
            async with fair.slot(who.token_id):
                return await _receive(request, response, who)
        except HTTPException as e:
            metrics.rejected.labels(rejection_reason(e)).inc()
            raise

    async def _receive(request: Request, response: Response, who: Principal) -> dict[str, Any]:
        chunks: list[bytes] = []
        async for chunk in request.stream():  # bounded by Ingress: past MAX_REPORT_BYTES the read raises a 413
            chunks.append(chunk)
        raw = b"".join(chunks)
        del chunks
        if len(raw) > LARGE_REPORT:
            async with large:
                return await _accept(raw, response, who)
        return await _accept(raw, response, who)

    async def _accept(raw: bytes, response: Response, who: Principal) -> dict[str, Any]:
        try:
            # a small report parses faster than a hop to a thread; a large one must not stall the event loop
            report, text = (await run_in_threadpool(parse_report, raw) if len(raw) > LARGE_REPORT
                            else parse_report(raw))
        except ValidationError as e:
            # field paths and messages only: never echo the input (it could hold what must not be stored)
            raise HTTPException(422, [{"loc": list(err["loc"]), "msg": _error_message(err)}
                                      for err in e.errors(include_input=False)[:20]]) from None
        except ValueError as e:
            raise HTTPException(422, f"invalid JSON: {str(e)[:200]}") from None
        if report.time > time.time() + MAX_FUTURE_SKEW:
            raise HTTPException(422, [{"loc": ["time"], "msg": "more than a day ahead of the hub's clock"}])
        if not who.can_report_for(report.spoke):
            raise HTTPException(403, f"this token may not report for spoke {report.spoke}")
        if not await run_in_threadpool(store.ingest, report, text):
            metrics.duplicates.inc()
            response.status_code = 200
            return {"id": report.id, "stored": False}
        metrics.ingested.labels(report.result).inc()
        metrics.watch.nudge()
        return {"id": report.id, "stored": True}

    @app.get("/api/v1/summary")
    def summary(who: Who) -> dict[str, Any]:
        return views.summary(store)

    @app.get("/api/v1/spokes")
    def spokes(who: Who, region: Name = None, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
        return views.spokes(store, Page(limit, offset), region)

    @app.get("/api/v1/spokes/{name}")
    def spoke(name: str, who: Who) -> dict[str, Any]:
        detail = views.spoke_detail(store, name)
        if detail is None:
            raise HTTPException(404, f"no spoke {name} is declared or has reported")
        return detail

    @app.get("/api/v1/spokes/{name}/history")
    def history(name: str, who: Who, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        if not views.spoke_known(store, name):
            raise HTTPException(404, f"no spoke {name} is declared or has reported")
        return store.history(name, Page(limit, offset))

    @app.get("/api/v1/drift")
    def drift(who: Who, region: Name = None, spoke: Name = None, kind: Name = None, namespace: Name = None,
              limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
        return store.objects(Page(limit, offset), region, spoke, kind, namespace)

    @app.get("/api/v1/failures")
    def failures(who: Who, region: Name = None, spoke: Name = None, limit: Limit = 100,
                 offset: Offset = 0) -> dict[str, Any]:
        return store.objects(Page(limit, offset), region, spoke, statuses=("failed",))

    @app.get("/api/v1/rollout")
    def rollout(who: Who, revision: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
        return views.rollout(store, revision)

    @app.get("/api/v1/revisions")
    def revisions(who: Who, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
        return {"items": [{"revision": r.revision, "firstSeen": r.first_seen, "author": r.author,
                           "message": r.message, "committedAt": r.committed_at, "declared": r.declared is not None,
                           "error": r.error} for r in store.revisions(limit)]}

    @app.get("/api/v1/rollout/state")
    def rollout_state(who: Who, revision: Annotated[str, Query(min_length=1, max_length=64)],
                      spoke: Name = None) -> dict[str, Any]:
        if on_new_revision is not None and who.role == "agent":
            known = store.revision(revision)
            if known is None or (known.declared is None and known.error is None):
                on_new_revision()
        # only a spoke's own agent is told (and recorded) to roll back: the answer is an instruction to it
        asking = spoke if spoke and who.role == "agent" and who.can_report_for(spoke) else None
        return views.rollout_state(store, revision, record=who.role == "agent", spoke=asking)

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
        full = store.resolve_revision(revision)
        refused = views.approval_refused(store, full, wave)
        if refused:
            raise HTTPException(404, refused)
        store.approve(full, wave, f"token {who.token_id}")
        return {"approved": wave, "revision": full}

    add_web_routes(app, store, web)

    def openapi() -> dict[str, Any]:
        # the report body is read as a size-limited stream, so its schema is published by hand
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
            spec.setdefault("components", {}).setdefault("schemas", {}).update(report_defs)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(tokens_router(store))
    app.add_middleware(Ingress, limits=BODY_LIMITS)  # added last: the outermost, before anything reads the request
    return app
