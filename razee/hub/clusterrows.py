"""The customer clusters' and sources' rows, rewritten only where a report changed them.

Every spoke reports every 60 s; in a steady fleet nothing about its few hundred clusters changes. So a report's
clusters are compared, by a digest of what it says of each, with the rows its spoke's last report left, inside the
transaction that stores the report and holds the spoke's lock (razee/hub/store.py): one read of the spoke's rows,
and writes only for the clusters whose digest moved. Each such change also appends to the cluster's trail
(`cluster_changes`, the newest CHANGES_KEPT per cluster) with the revision the spoke ran: the audit trail a cluster's
page shows. Sources are compared the same way, per (spoke, cluster, kind, name).

A report without `clusters` (a pass that planned nothing, or a rejected revision) leaves everything as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from razee.hub.model import ClusterIn, ReportIn
from razee.hub.schema import ClusterChange, ClusterState, SourceState

CHANGES_KEPT = 20
"""Changes kept per cluster in its trail."""
_CLUSTERS: Table = ClusterState.__table__  # type: ignore[assignment]
_SOURCES: Table = SourceState.__table__  # type: ignore[assignment]
_CHANGES: Table = ClusterChange.__table__  # type: ignore[assignment]
REPORTED = (
    "spoke",
    "region",
    "state",
    "version",
    "revision",
    "synced",
    "drifted",
    "failed",
    "workers_desired",
    "workers_observed",
    "pending",
    "detail",
    "digest",
    "changed",
)
"""The columns a report writes (the declared ones are the fleet repo's, razee/hub/declared.py)."""


def cluster_state(c: ClusterIn) -> str:
    """Failed objects, then drift, then what is not yet where the revision wants it, else in sync."""
    m = c.master
    if m.failed:
        return "failed"
    if m.drifted:
        return "drifted"
    behind = c.infrastructure and bool(c.version) and c.observedVersion != c.version
    if m.pending or c.pending or behind or any(p.observed != p.desired or p.ready != p.desired for p in c.pools):
        return "progressing"
    return "in-sync"


def reported_row(c: ClusterIn, report: ReportIn, revision: str, now: float) -> dict[str, Any]:
    detail = json.dumps(c.model_dump(), sort_keys=True)  # once: stored as is, and hashed with where it runs
    digest = hashlib.sha256(f"{revision}\0{report.spoke}\0{detail}".encode()).hexdigest()
    return {
        "name": c.name,
        "spoke": report.spoke,
        "region": report.region,
        "state": cluster_state(c),
        "version": c.observedVersion or c.version,
        "revision": revision,
        "synced": c.master.synced,
        "drifted": c.master.drifted,
        "failed": c.master.failed,
        "workers_desired": sum(p.desired for p in c.pools),
        "workers_observed": sum(p.observed for p in c.pools),
        "pending": c.pending,
        "detail": detail,
        "digest": digest,
        "changed": now,
    }


_SUMMARY = ("state", "version", "revision", "drifted", "failed", "workers_observed", "workers_desired")


def what_changed(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    """The change in words, for the trail: state, version, revision, counts, workers."""
    if before is None or not before["digest"]:
        return f"first reported by {after['spoke']}: {after['state']}"
    parts = []
    if before["spoke"] != after["spoke"]:
        parts.append(f"moved from {before['spoke']} to {after['spoke']}")
    for key, label in (
        ("state", "state"),
        ("version", "version"),
        ("drifted", "drifted objects"),
        ("failed", "failed objects"),
    ):
        if before[key] != after[key]:
            parts.append(f"{label} {before[key]} -> {after[key]}")
    if before["revision"] != after["revision"]:
        parts.append(f"revision {before['revision'][:12]} -> {after['revision'][:12]}")
    if (before["workers_observed"], before["workers_desired"]) != (after["workers_observed"], after["workers_desired"]):
        parts.append(
            f"workers {before['workers_observed']}/{before['workers_desired']} -> "
            f"{after['workers_observed']}/{after['workers_desired']}"
        )
    return "; ".join(parts) or "pools or out-of-sync objects changed"


def _upsert(s: Session, table: Table, keys: Sequence[str], columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE over many rows in one statement execution (executemany)."""
    if not rows:
        return
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    s.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}), rows)


def _trail(s: Session, report: ReportIn, revision: str, entries: list[tuple[str, str]], now: float) -> None:
    if not entries:
        return
    s.execute(
        _CHANGES.insert(),
        [
            {
                "cluster": name,
                "at": now,
                "spoke": report.spoke,
                "revision": revision,
                "result": str(report.result),
                "what": what[:1000],
            }
            for name, what in entries
        ],
    )
    newest = (
        select(_CHANGES.c.seq)
        .where(_CHANGES.c.cluster == bindparam("c"))
        .order_by(_CHANGES.c.seq.desc())
        .limit(1)
        .offset(CHANGES_KEPT - 1)
        .scalar_subquery()
    )
    s.execute(
        delete(_CHANGES).where(and_(_CHANGES.c.cluster == bindparam("c"), _CHANGES.c.seq < newest)),
        [{"c": name} for name, _ in entries],
    )


def _previous(s: Session, spoke: str, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The rows of the spoke, and of the reported clusters another spoke had (a cluster that moved)."""
    cols = [_CLUSTERS.c[c] for c in ("name", "spoke", "digest", "declared", "declared_spoke", *_SUMMARY)]
    rows = {r["name"]: dict(r) for r in s.execute(select(*cols).where(_CLUSTERS.c.spoke == spoke)).mappings()}
    elsewhere = [n for n in names if n not in rows]
    for chunk in range(0, len(elsewhere), 500):
        rows.update(
            {
                r["name"]: dict(r)
                for r in s.execute(select(*cols).where(_CLUSTERS.c.name.in_(elsewhere[chunk : chunk + 500]))).mappings()
            }
        )
    return rows


def write_clusters(s: Session, report: ReportIn, revision: str, now: float) -> int:
    """Bring the spoke's cluster rows to what `report` says; returns how many rows were written."""
    if report.clusters is None:
        return 0
    wanted = {c.name: reported_row(c, report, revision, now) for c in report.clusters}
    before = _previous(s, report.spoke, list(wanted))
    changed = [row for name, row in wanted.items() if (before.get(name) or {}).get("digest") != row["digest"]]
    _upsert(
        s,
        _CLUSTERS,
        ["name"],
        REPORTED,
        [{**row, "declared": False, "declared_spoke": "", "desired": "{}"} for row in changed],
    )
    trail = [(row["name"], what_changed(before.get(row["name"]), row)) for row in changed]
    gone = [b for name, b in before.items() if name not in wanted and b["spoke"] == report.spoke and b["digest"]]
    forget = [b["name"] for b in gone if not b["declared"]]
    for chunk in range(0, len(forget), 500):
        s.execute(delete(_CLUSTERS).where(_CLUSTERS.c.name.in_(forget[chunk : chunk + 500])))
        s.execute(delete(_CHANGES).where(_CHANGES.c.cluster.in_(forget[chunk : chunk + 500])))
    kept = [b for b in gone if b["declared"]]
    if kept:  # declared, and its spoke no longer reports it: back to what the fleet repo says, unreported
        s.execute(
            update(_CLUSTERS)
            .where(_CLUSTERS.c.name == bindparam("k_name"))
            .values(
                spoke=bindparam("v_spoke"),
                state="never-reported",
                digest="",
                detail="{}",
                synced=0,
                drifted=0,
                failed=0,
                workers_observed=0,
                pending=0,
                changed=now,
            ),
            [{"k_name": b["name"], "v_spoke": b["declared_spoke"] or b["spoke"]} for b in kept],
        )
        trail += [(b["name"], f"no longer reported by {report.spoke}") for b in kept]
    _trail(s, report, revision, trail, now)
    return len(changed) + len(gone)


def _source_row(report: ReportIn, x: Any) -> dict[str, Any]:
    return {
        "spoke": report.spoke,
        "cluster": x.cluster or "",
        "kind": x.kind,
        "name": x.name,
        "region": report.region,
        "chart": x.chart or "",
        "version": x.version or "",
        "digest": x.digest or "",
    }


def write_sources(s: Session, report: ReportIn) -> int:
    """Bring the spoke's source rows to what `report` says (only a report that carries its clusters does)."""
    if report.clusters is None:
        return 0
    key_cols = ("cluster", "kind", "name")
    value_cols = ("region", "chart", "version", "digest")
    have = {
        tuple(r[:3]): tuple(r[3:])
        for r in s.execute(
            select(*(_SOURCES.c[c] for c in (*key_cols, *value_cols))).where(_SOURCES.c.spoke == report.spoke)
        )
    }
    rows = {(r["cluster"], r["kind"], r["name"]): r for r in (_source_row(report, x) for x in report.sources)}
    changed = [r for k, r in rows.items() if have.get(k) != tuple(r[c] for c in value_cols)]
    gone = [k for k in have if k not in rows]
    if gone:
        s.execute(
            delete(_SOURCES).where(
                and_(
                    _SOURCES.c.spoke == report.spoke,
                    _SOURCES.c.cluster == bindparam("k_cluster"),
                    _SOURCES.c.kind == bindparam("k_kind"),
                    _SOURCES.c.name == bindparam("k_name"),
                )
            ),
            [{"k_cluster": c, "k_kind": k, "k_name": n} for c, k, n in gone],
        )
    _upsert(s, _SOURCES, ["spoke", *key_cols], value_cols, changed)
    return len(changed) + len(gone)
