"""The hub's web pages: server-rendered HTML (Jinja2, autoescaped), no build step, refreshed every 15 seconds.

Pages read the same views as the JSON API (razee/hub/views.py): the fleet by region with every declared spoke, the
newest revisions' rollout by wave, and one page per spoke.
"""

from __future__ import annotations

import time
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from razee.hub import rollout_view, views
from razee.hub.clusters import ClusterFilter, list_clusters
from razee.hub.store import Page, Store

_env = Environment(
    loader=PackageLoader("razee.hub", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
LABELS = {
    "in-sync": "in sync",
    "drifted": "drifted",
    "missing": "missing objects",
    "failed": "failed",
    "rolling-out": "rolling out",
    "held": "held by the gate",
    "never-reported": "never reported",
    "stale": "stale",
}
DRIFT_SHOWN = 200
REVISIONS_SHOWN = 3
CLUSTERS_SHOWN = 50


def _utc(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) if t else ""


def login_page(message: str) -> str:
    return _env.get_template("login.html").render(title="sign in", message=message, ctx=None, refresh=False)


def fleet_page(store: Store, ctx: dict[str, Any]) -> str:
    summary = views.summary(store)
    regions: dict[str, list[dict[str, Any]]] = {}
    for sp in views.spoke_list(store):
        regions.setdefault(sp["region"], []).append(sp)
    drift = store.objects(Page(DRIFT_SHOWN + 1, 0))["items"]
    return _env.get_template("fleet.html").render(
        title="fleet",
        ctx=ctx,
        refresh=True,
        summary=summary,
        regions=sorted(regions.items()),
        states=views.STATES,
        labels=LABELS,
        drift=drift[:DRIFT_SHOWN],
        drift_more=len(drift) > DRIFT_SHOWN,
    )


def rollout_page(store: Store, ctx: dict[str, Any]) -> str:
    revisions = [r.revision for r in store.revisions(REVISIONS_SHOWN, declared_only=True)] or [
        r.revision for r in store.revisions(REVISIONS_SHOWN)
    ]
    return _env.get_template("rollout.html").render(
        title="rollout",
        ctx=ctx,
        refresh=True,
        paused=store.paused_by(),
        rollouts=[rollout_view.rollout(store, r) for r in revisions],
    )


def spoke_page(store: Store, name: str, ctx: dict[str, Any]) -> str | None:
    detail = views.spoke_detail(store, name)
    if detail is None:
        return None
    history = [{**h, "when": _utc(h["received"])} for h in detail["history"]]
    clusters = list_clusters(store, ClusterFilter(spoke=name), CLUSTERS_SHOWN)
    return _env.get_template("spoke.html").render(
        title=name,
        ctx=ctx,
        refresh=True,
        sp=detail,
        labels=LABELS,
        objects=detail["outOfSync"],
        history=history,
        rev=detail["revisionInfo"],
        infra=detail["infrastructure"],
        last_seen=_utc(detail["lastSeen"]),
        clusters=clusters,
    )
