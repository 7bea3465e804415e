"""The customer clusters and the fleet's sources as people ask about them: list and filter, one cluster, counts.

Every list is paged: by name after a cursor (keyset, `after`: each filter has an index ending in the name, so a
page costs its rows whatever the fleet's size) or by offset. The API, the CLI and the dashboard read these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, func, or_, select

from razee.hub.schema import ClusterChange, ClusterState, Revision, SourceState, SpokeState
from razee.hub.store import Store

STATE_FILTERS = ("in-sync", "progressing", "drifted", "failed", "never-reported", "undeclared")
"""What `state` may be: razee.wire.CLUSTER_STATES, and `undeclared` (reported, no longer in the fleet repo)."""
SOURCE_CLUSTERS_SHOWN = 200
"""Cluster names listed per version of a chart (the count is always whole)."""
SOURCE_GROUPS_LISTED = 50
"""Versions of one chart whose clusters are named (more are counted, with their spokes)."""


@dataclass(frozen=True)
class ClusterFilter:
    region: str | None = None
    spoke: str | None = None
    version: str | None = None  # "1.31" matches 1.31 and 1.31.x
    state: str | None = None
    prefix: str | None = None


def _filtered(q: Select[Any], f: ClusterFilter, binary: bool) -> Select[Any]:
    c = ClusterState
    if f.region:
        q = q.where(c.region == f.region)
    if f.spoke:
        q = q.where(c.spoke == f.spoke)
    if f.version:
        q = q.where(or_(c.version == f.version, c.version.startswith(f.version + ".", autoescape=True)))
    if f.state == "undeclared":
        q = q.where(c.declared == false())
    elif f.state:
        q = q.where(c.state == f.state)
    if f.prefix and binary:  # SQLite compares bytes: a range on the primary key, read from the index
        q = q.where(c.name >= f.prefix, c.name < f.prefix + "\U0010ffff")
    elif f.prefix:  # PostgreSQL's collation may not order by code point: LIKE with the wildcards escaped
        q = q.where(c.name.startswith(f.prefix, autoescape=True))
    return q


def _item(c: ClusterState) -> dict[str, Any]:
    return {
        "name": c.name,
        "spoke": c.spoke,
        "region": c.region,
        "state": c.state,
        "declared": c.declared,
        "version": c.version,
        "revision": c.revision,
        "synced": c.synced,
        "drifted": c.drifted,
        "failed": c.failed,
        "workersDesired": c.workers_desired,
        "workersObserved": c.workers_observed,
        "pending": c.pending,
        "changed": c.changed,
    }


def list_clusters(
    store: Store, f: ClusterFilter, limit: int = 100, after: str | None = None, offset: int = 0
) -> dict[str, Any]:
    """A page of clusters in name order, the filter's total, and the cursor of the next page (None: the last)."""
    binary = store.engine.dialect.name == "sqlite"
    with store.session() as s:
        q = _filtered(select(ClusterState), f, binary)
        if after:
            q = q.where(ClusterState.name > after)
        rows = s.execute(q.order_by(ClusterState.name).limit(limit + 1).offset(offset)).scalars().all()
        total = s.execute(_filtered(select(func.count()).select_from(ClusterState), f, binary)).scalar() or 0
    items = [_item(c) for c in rows[:limit]]
    return {
        "items": items,
        "total": int(total),
        "limit": limit,
        "offset": offset,
        "next": items[-1]["name"] if len(rows) > limit else None,
    }


def counts(store: Store) -> dict[str, Any]:
    """Fleet-wide: clusters by kube version and by state, and how many are undeclared."""
    with store.session() as s:
        by_version = dict(s.execute(select(ClusterState.version, func.count()).group_by(ClusterState.version)).all())
        by_state = dict(s.execute(select(ClusterState.state, func.count()).group_by(ClusterState.state)).all())
        undeclared = (
            s.execute(select(func.count()).select_from(ClusterState).where(ClusterState.declared == false())).scalar()
            or 0
        )
    return {
        "total": sum(by_state.values()),
        "byVersion": {k or "unknown": int(v) for k, v in by_version.items()},
        "byState": {k: int(v) for k, v in by_state.items()},
        "undeclared": int(undeclared),
    }


def _changes(s: Any, name: str) -> list[dict[str, Any]]:
    rows = s.execute(
        select(ClusterChange, Revision.author, Revision.message, Revision.committed_at)
        .outerjoin(Revision, Revision.revision == ClusterChange.revision)
        .where(ClusterChange.cluster == name)
        .order_by(ClusterChange.seq.desc())
    ).all()
    return [
        {
            "at": ch.at,
            "spoke": ch.spoke,
            "revision": ch.revision,
            "result": ch.result,
            "what": ch.what,
            "author": author or "",
            "message": message or "",
            "committedAt": committed or "",
        }
        for ch, author, message, committed in rows
    ]


def cluster_detail(store: Store, name: str) -> dict[str, Any] | None:
    """One cluster: where it runs, its master's out-of-sync objects, its pools, its sources and its last changes
    with the commits they came with; None when neither the repo declares it nor a report mentions it."""
    with store.session() as s:
        c = s.get(ClusterState, name)
        if c is None:
            return None
        spoke = s.get(SpokeState, c.spoke)
        sources = (
            s.execute(
                select(SourceState)
                .where(SourceState.spoke == c.spoke, SourceState.cluster == name)
                .order_by(SourceState.kind, SourceState.name)
            )
            .scalars()
            .all()
        )
        changes = _changes(s, name)
        rev = s.get(Revision, c.revision) if c.revision else None
    detail, desired = json.loads(c.detail or "{}"), json.loads(c.desired or "{}")
    return {
        **_item(c),
        "declaredSpoke": c.declared_spoke,
        "desired": desired,
        "master": detail.get("master", {}),
        "pools": detail.get("pools", []),
        "desiredVersion": detail.get("version") or desired.get("version", ""),
        "observedVersion": detail.get("observedVersion", ""),
        "infrastructure": detail.get("infrastructure"),
        "spokeState": {"result": spoke.result, "revision": spoke.revision, "lastSeen": spoke.last_seen}
        if spoke is not None
        else None,
        "revisionInfo": {"author": rev.author, "message": rev.message, "committedAt": rev.committed_at}
        if rev is not None
        else {},
        "sources": [
            {"kind": x.kind, "name": x.name, "chart": x.chart, "version": x.version, "digest": x.digest}
            for x in sources
        ],
        "changes": changes,
    }


def _where(s: Any, chart: str) -> dict[tuple[str, ...], dict[str, Any]]:
    """For one chart, per version: every spoke that runs it, and its first SOURCE_CLUSTERS_SHOWN clusters (one
    bounded query per version, so a chart on 15,000 clusters costs a few pages, not 15,000 rows)."""
    x = SourceState
    group = (x.kind, x.name, x.chart, x.version, x.digest)
    where: dict[tuple[str, ...], dict[str, Any]] = {}
    for *key, spoke in s.execute(
        select(*group, x.spoke)
        .where(x.chart == chart, x.cluster != "")
        .group_by(*group, x.spoke)
        .order_by(*group, x.spoke)
    ).all():
        where.setdefault(tuple(key), {"spokes": [], "clusters": []})["spokes"].append(spoke)
    for key in list(where)[:SOURCE_GROUPS_LISTED]:
        same = [column == value for column, value in zip(group, key, strict=True)]
        where[key]["clusters"] = list(
            s.execute(
                select(x.cluster).where(*same, x.cluster != "").order_by(x.cluster).limit(SOURCE_CLUSTERS_SHOWN)
            ).scalars()
        )
    return where


def sources(store: Store, chart: str | None = None, limit: int = 1000) -> dict[str, Any]:
    """Which versions of which sources run where: per (kind, name, chart, version, digest), the spokes and how many
    clusters; with `chart`, that chart's versions with their spokes and (the first SOURCE_CLUSTERS_SHOWN) clusters."""
    x = SourceState
    group = (x.kind, x.name, x.chart, x.version, x.digest)
    q = select(*group, func.count(func.distinct(x.spoke)), func.count()).where(x.cluster != "")
    spoke_level = select(*group, x.spoke).where(x.cluster == "")
    if chart:
        q, spoke_level = q.where(x.chart == chart), spoke_level.where(x.chart == chart)
    with store.session() as s:
        rows = s.execute(q.group_by(*group).order_by(*group).limit(limit)).all()
        shared = s.execute(spoke_level.order_by(*group, x.spoke).limit(limit)).all()
        where = _where(s, chart) if chart else {}
    items = [
        {
            "kind": k,
            "name": n,
            "chart": c,
            "version": v,
            "digest": d,
            "spokes": spokes,
            "clusters": count,
            "where": where.get((k, n, c, v, d), {}),
        }
        for k, n, c, v, d, spokes, count in rows
    ]
    spoke_wide: dict[tuple[str, ...], list[str]] = {}
    for k, n, c, v, d, spoke in shared:
        spoke_wide.setdefault((k, n, c, v, d), []).append(spoke)
    items += [
        {
            "kind": k,
            "name": n,
            "chart": c,
            "version": v,
            "digest": d,
            "spokes": len(sp),
            "clusters": 0,
            "where": {"spokes": sp, "clusters": []},
        }
        for (k, n, c, v, d), sp in spoke_wide.items()
    ]
    return {"items": items, "chart": chart}
