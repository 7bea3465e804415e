"""The dashboard's customer-cluster pages: the clusters list (search, filters, pages), one cluster, the sources.

They read the same queries as the API (razee/hub/clusters.py), so a page costs what an API call costs: one page
of rows from an index, a count, and the fleet's counts by state and version. Query parameters are bounded here and
only ever compared in SQL; the templates autoescape every value.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from razee.hub import clusters
from razee.hub.dashboard import _env
from razee.hub.store import Store

PAGE = 100
"""Clusters per page."""
FILTERS = ("region", "spoke", "version", "state", "prefix")
LABELS = {
    "in-sync": "in sync",
    "progressing": "progressing",
    "drifted": "drifted",
    "failed": "failed",
    "never-reported": "never reported",
    "undeclared": "undeclared",
}
_STYLE = {"progressing": "rolling-out"}  # the fleet page's colours


def _utc(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) if t else ""


def query_filter(params: dict[str, str]) -> dict[str, str]:
    """The page's filters from its query string: known names only, bounded, an unknown state dropped."""
    out = {k: params[k][:253].strip() for k in FILTERS if params.get(k, "").strip()}
    if out.get("state") not in clusters.STATE_FILTERS:
        out.pop("state", None)
    return out


def clusters_page(store: Store, ctx: dict[str, Any], params: dict[str, str]) -> str:
    chosen = query_filter(params)
    after = params.get("after", "")[:253] or None
    f = clusters.ClusterFilter(**{k: chosen.get(k) for k in FILTERS})
    page = clusters.list_clusters(store, f, PAGE, after)
    nxt = "/clusters?" + urlencode({**chosen, "after": page["next"]}) if page["next"] else ""
    first = "/clusters?" + urlencode(chosen) if after else ""
    return _env.get_template("clusters.html").render(
        title="clusters",
        ctx=ctx,
        refresh=False,
        page=page,
        counts=clusters.counts(store),
        chosen=chosen,
        states=clusters.STATE_FILTERS,
        labels=LABELS,
        style=_STYLE,
        next_url=nxt,
        first_url=first,
    )


def cluster_page(store: Store, name: str, ctx: dict[str, Any]) -> str | None:
    detail = clusters.cluster_detail(store, name[:253])
    if detail is None:
        return None
    changes = [{**ch, "when": _utc(ch["at"])} for ch in detail["changes"]]
    return _env.get_template("cluster.html").render(
        title=name,
        ctx=ctx,
        refresh=True,
        c=detail,
        labels=LABELS,
        style=_STYLE,
        changes=changes,
        last_seen=_utc((detail["spokeState"] or {}).get("lastSeen")),
    )


def sources_page(store: Store, ctx: dict[str, Any], chart: str) -> str:
    chart = chart[:253].strip()
    return _env.get_template("sources.html").render(
        title="sources", ctx=ctx, refresh=False, chart=chart, items=clusters.sources(store, chart or None)["items"]
    )
