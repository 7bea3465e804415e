"""The hub's HTTP API (FastAPI): agents post reports, people and tools read fleet-wide views.

Every API request carries its token in the Authorization header, never in a cookie: a browser attaches cookies to
requests other sites make, so a cookie must never authorise an API write (the dashboard has its own routes with a
CSRF token, razee/hub/web.py). An agent token may write only its own spoke's reports; reads take any valid token.
Every body is bounded while it is read, and read only after the token was checked (razee/hub/ingress.py); report
bodies are schema-validated before anything is stored: a bad one is a 422 that changes nothing. Every input the
API accepts fits both databases' columns, so none can reach a 500 (razee/hub/model.py).
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi

from razee import __version__
from razee.hub.clusters_api import clusters_router
from razee.hub.deps import bearer_principal
from razee.hub.health_api import READY_TIMEOUT, health_router
from razee.hub.ingress import FORM_BYTES, Ingress
from razee.hub.metrics import HubMetrics, add_metrics
from razee.hub.reports_api import report_schema, reports_router
from razee.hub.rollout_api import rollout_router
from razee.hub.store import Store
from razee.hub.tokens_api import tokens_router
from razee.hub.views_api import views_router
from razee.hub.watch import FleetWatch
from razee.hub.web import add_web_routes
from razee.hub.web_policy import WebSettings

MAX_REPORT_BYTES = 4 << 20
"""The largest report body; the agent trims its reports to fit (razee/agent/report.py)."""
BODY_LIMITS = {"/api/v1/reports": MAX_REPORT_BYTES, "/login": FORM_BYTES, "/logout": FORM_BYTES, "/ui/": FORM_BYTES}
"""Per route (a trailing "/" covers a subtree); every other route takes ingress.JSON_BYTES."""
__all__ = ["BODY_LIMITS", "MAX_REPORT_BYTES", "READY_TIMEOUT", "create_app"]


def create_app(
    store: Store,
    on_new_revision: Callable[[], None] | None = None,
    metrics: HubMetrics | None = None,
    web: WebSettings | None = None,
) -> FastAPI:
    """The hub's app, assembled from its routers; `on_new_revision` is called when an agent asks about a revision
    the hub has not read from the fleet repo yet (the repo follower looks at once instead of at its next poll).
    `metrics` carries the fleet watcher that each stored report nudges (notifications look at the fleet after
    it); `web` the dashboard's cookie and origin settings (razee/hub/web_policy.py)."""
    app = FastAPI(
        title="razee hub", version=__version__, openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None
    )
    metrics = metrics or HubMetrics(FleetWatch(store))
    add_metrics(app, metrics)

    def refused(request: Request) -> None:
        if request.url.path == "/api/v1/reports":
            metrics.rejected.labels("unauthenticated").inc()

    principal = bearer_principal(store, refused)
    app.include_router(health_router(store))
    app.include_router(reports_router(store, principal, metrics))
    app.include_router(views_router(store, principal))
    app.include_router(clusters_router(store, principal))
    app.include_router(rollout_router(store, principal, on_new_revision))
    add_web_routes(app, store, web)
    report_defs = report_schema()[1]

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
