"""The hub's Prometheus metrics, on its own registry (several hubs in one test process stay apart).

Counters and the latency histogram are updated as requests pass; the fleet's gauges (spokes by state, objects out
of sync, the rollout) are read from the watcher's cached snapshot when Prometheus scrapes, so a scrape costs at
most one look at the fleet every few seconds, whatever the fleet's size.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from razee.hub.notify import Notifier
from razee.hub.watch import FleetWatch

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def rejection_reason(e: HTTPException) -> str:
    """A bounded label for why a report was refused (the detail itself is never a label)."""
    if e.status_code == 401:
        return "unauthenticated"
    if e.status_code == 403:
        return "forbidden"
    if e.status_code == 413:
        return "too-large"
    if e.status_code == 429:
        return "too-many-in-flight"
    if e.status_code == 422 and isinstance(e.detail, str):
        return "invalid-json"
    if e.status_code == 422 and isinstance(e.detail, list) and e.detail and e.detail[0].get("loc") == ["time"]:
        return "clock-ahead"
    if e.status_code == 422:
        return "invalid-schema"
    return "other"


class FleetCollector(Collector):
    """Gauges read from the watcher's snapshot at scrape time."""

    def __init__(self, watch: FleetWatch, notifier: Notifier | None) -> None:
        self.watch = watch
        self.notifier = notifier

    def collect(self) -> Iterator[Metric]:
        try:
            snap = self.watch.current()
        except Exception:  # a scrape during a database outage shows the counters, not an error page
            log.exception("cannot read the fleet for /metrics")
            return
        spokes = GaugeMetricFamily(
            "razee_hub_spokes",
            "Spokes by state, as the dashboard shows them (declared spokes and reporting ones)",
            labels=["state"],
        )
        for state, n in snap.by_state().items():
            spokes.add_metric([state], n)
        yield spokes
        objects = GaugeMetricFamily(
            "razee_hub_objects", "Objects out of sync in the spokes' latest reports", labels=["status"]
        )
        for status in ("drifted", "missing", "failed"):
            objects.add_metric([status], snap.objects.get(status, 0))
        yield objects
        halted = GaugeMetricFamily(
            "razee_hub_rollout_halted",
            "1 while the newest revision's rollout is halted by the gate (failures over a wave's maxFailures)",
            labels=["revision"],
        )
        if snap.revision:
            halted.add_metric([snap.revision], 1 if snap.halted else 0)
        yield halted
        yield GaugeMetricFamily(
            "razee_hub_rollout_paused", "1 while an admin has paused rollouts", value=1 if snap.paused else 0
        )
        complete = GaugeMetricFamily(
            "razee_hub_rollout_complete",
            "1 once every spoke the newest revision declares applied it",
            labels=["revision"],
        )
        if snap.revision:
            complete.add_metric([snap.revision], 1 if snap.complete else 0)
        yield complete
        yield GaugeMetricFamily(
            "razee_hub_fleet_snapshot_age_seconds",
            "Age of the fleet view these gauges show",
            value=max(0.0, time.time() - snap.taken),
        )
        if self.notifier is not None:
            sent = CounterMetricFamily(
                "razee_hub_notifications",
                "Notification deliveries by outcome (sent, "
                "retried, failed after every retry or refused, dropped on a full queue)",
                labels=["outcome"],
            )
            for outcome, n in sorted(self.notifier.counts.items()):
                sent.add_metric([outcome], n)
            yield sent
            yield GaugeMetricFamily(
                "razee_hub_notifications_queued", "Events waiting for delivery", value=self.notifier.queued()
            )


class HubMetrics:
    def __init__(self, watch: FleetWatch, notifier: Notifier | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ingested = Counter(
            "razee_hub_reports_ingested_total", "Reports stored, by the pass's result", ["result"], registry=r
        )
        self.duplicates = Counter(
            "razee_hub_reports_duplicate_total",
            "Reports received again (already stored: an agent retried after a lost answer)",
            registry=r,
        )
        self.rejected = Counter(
            "razee_hub_reports_rejected_total", "Reports refused, by reason (nothing stored)", ["reason"], registry=r
        )
        self.latency = Histogram(
            "razee_hub_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        r.register(FleetCollector(watch, notifier))
        self.watch = watch

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _route(app: FastAPI, scope: Scope) -> str:
    """The matched route's template (/api/v1/spokes/{name}), never the raw path: labels stay bounded."""
    route = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path)
    for candidate in app.router.routes:
        match, _ = candidate.matches(scope)
        if match == Match.FULL and hasattr(candidate, "path"):
            return str(candidate.path)
    return "unmatched"


class _Timing:
    """Pure ASGI middleware (it never buffers a body): the time until the response's last byte, per route; and a
    `Server-Timing: app;dur=MS` header with the time until the answer was ready (benchmarks read server-side
    latency from it, without the client's or the network's share)."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI, metrics: HubMetrics) -> None:
        self.app = app
        self.fastapi = fastapi
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":  # the answer is ready: what the server spent on it
                spent = f"app;dur={(time.perf_counter() - start) * 1000:.1f}".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", spent)]}
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.metrics.latency.labels(scope["method"], _route(self.fastapi, scope)).observe(
                    time.perf_counter() - start
                )

        await self.app(scope, receive, timed_send)


def add_metrics(app: FastAPI, metrics: HubMetrics) -> None:
    """GET /metrics (unauthenticated like /healthz: counts and revisions, never spoke names, tokens or bodies)."""
    app.add_middleware(_Timing, fastapi=app, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    def scrape() -> Any:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
