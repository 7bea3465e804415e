"""Liveness and readiness probes: unauthenticated, outside the published API."""

import asyncio

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from razee.hub.store import Store

READY_TIMEOUT = 5.0
"""/readyz waits this long for the database before it answers 503 (a probe's own timeout is often 1 s more)."""


def _database_answers(store: Store) -> None:
    with store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def health_router(store: Store) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process serves. It never looks at the database, so an outage restarts nothing."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> Response:
        """Readiness: the database answers. While it does not, the hub is taken out of its Service's endpoints."""
        try:
            await asyncio.wait_for(run_in_threadpool(_database_answers, store), READY_TIMEOUT)
        except Exception as e:  # any failure to reach it: the answer is "not ready", never a 500
            return JSONResponse({"status": "database unreachable", "error": type(e).__name__}, 503)
        return JSONResponse({"status": "ok"})

    return router
