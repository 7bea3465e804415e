"""Agents post reports: authenticated first, read as a bounded stream, validated, then stored once.

A bad body is a 422 that changes nothing and never echoes the input (it could hold what must not be stored); a
report for another spoke than the token's is a 403; each token's reports in flight are capped (a 429 past the
cap, razee/hub/fairness.py); large bodies are parsed a few at a time so a burst keeps memory bounded.
"""

import asyncio
import json
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from razee.hub.auth import Principal
from razee.hub.fairness import Fairness
from razee.hub.ingress import CONTROL_MESSAGE
from razee.hub.metrics import HubMetrics, rejection_reason
from razee.hub.model import CLEAN_PATTERNS, KUBE_NAME_PATTERNS, ReportIn
from razee.hub.store import Store

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


def report_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The report body's JSON schema and its definitions: the body is read as a stream, so it is published by hand."""
    schema = ReportIn.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return schema, defs


def reports_router(store: Store, principal: Callable[[Request], Principal], metrics: HubMetrics) -> APIRouter:
    router = APIRouter()
    Who = Annotated[Principal, Depends(principal)]
    large = asyncio.Semaphore(LARGE_AT_ONCE)
    fair = Fairness()

    @router.post(
        "/api/v1/reports",
        status_code=201,
        responses={200: {"description": "already stored"}, 403: {}, 413: {}, 422: {}, 429: {}},
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": report_schema()[0]}}}
        },
    )
    async def post_report(request: Request, response: Response, who: Who) -> dict[str, Any]:
        try:
            async with fair.slot(who.token_id):
                return await _receive(request, response, who)
        except HTTPException as e:
            metrics.rejected.labels(rejection_reason(e)).inc()
            raise

    async def _receive(request: Request, response: Response, who: Principal) -> dict[str, Any]:
        chunks: list[bytes] = []
        async for chunk in request.stream():  # bounded by Ingress: past the report limit the read raises a 413
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
            report, text = await run_in_threadpool(parse_report, raw) if len(raw) > LARGE_REPORT else parse_report(raw)
        except ValidationError as e:
            # field paths and messages only: never echo the input (it could hold what must not be stored)
            raise HTTPException(
                422,
                [{"loc": list(err["loc"]), "msg": _error_message(err)} for err in e.errors(include_input=False)[:20]],
            ) from None
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

    return router
