"""A spoke's object rows (what the drift and failure views read), rewritten by what changed since its last report.

A report itemises up to 50,000 objects. Deleting and re-adding every row, one ORM object each, held SQLite's only
writer for seconds per report, and every other spoke's report waited behind it (issue 24: 4.5 s median). So the
spoke's rows are read and compared with the report before the write transaction, outside the writer lock; inside
it, only the difference is written, with one statement per kind of change over many rows (executemany). Readers
see the old rows or the new ones, never a mix: the difference is applied in the same transaction that stores the
report and moves the spoke to it.

The comparison is against the rows as they were when the spoke's latest report was `seen`; the write transaction
holds the spoke's lock and checks that its latest report is still that one (every change of a spoke's rows changes
its latest report in the same transaction), and compares again, inside, if another report came first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Table, and_, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from razee.hub.model import ReportIn
from razee.hub.schema import ObjectState, SpokeState

Key = tuple[str, str, str, str]
"""group, kind, namespace, name: an object's identity within its spoke."""
Row = tuple[str, str, str, str, str]
"""region, status, paths (JSON), message, takeovers (JSON): what a row says about its object."""
REWRITE_SHARE = 0.5
"""When more than half of the rows change, one DELETE of the spoke's rows and a multi-row INSERT beat per-row work."""
_TABLE: Table = ObjectState.__table__  # type: ignore[assignment]
_COLUMNS = ("region", "status", "paths", "message", "takeovers")
_SAME_OBJECT = and_(
    _TABLE.c.spoke == bindparam("k_spoke"),
    _TABLE.c.group == bindparam("k_group"),
    _TABLE.c.kind == bindparam("k_kind"),
    _TABLE.c.namespace == bindparam("k_namespace"),
    _TABLE.c.name == bindparam("k_name"),
)


@dataclass(frozen=True)
class Snapshot:
    """A spoke's rows, and the latest report they belong to (None: the spoke never reported)."""

    seen: str | None
    rows: dict[Key, Row]


@dataclass
class Delta:
    gone: list[Key] = field(default_factory=list)
    changed: dict[Key, Row] = field(default_factory=dict)
    new: dict[Key, Row] = field(default_factory=dict)
    rewrite: bool = False  # replace every row of the spoke with `new`


def read(s: Session, spoke: str) -> Snapshot:
    """The spoke's rows; its latest report is read first, so rows newer than it show up as a stale snapshot."""
    seen = s.execute(select(SpokeState.report_id).where(SpokeState.name == spoke)).scalar_one_or_none()
    rows = s.execute(
        select(
            _TABLE.c.group,
            _TABLE.c.kind,
            _TABLE.c.namespace,
            _TABLE.c.name,
            _TABLE.c.region,
            _TABLE.c.status,
            _TABLE.c.paths,
            _TABLE.c.message,
            _TABLE.c.takeovers,
        ).where(_TABLE.c.spoke == spoke)
    ).all()
    return Snapshot(seen, {(r[0], r[1], r[2], r[3]): (r[4], r[5], r[6], r[7], r[8] or "[]") for r in rows})


def wanted(report: ReportIn) -> dict[Key, Row]:
    """The rows the report calls for: every object it itemises that is not simply in sync."""
    return {
        (o.group, o.kind, o.namespace, o.name): (
            report.region,
            o.status,
            json.dumps(o.paths),
            o.message,
            json.dumps([t.model_dump() for t in o.takeovers]),
        )
        for o in report.objects
        if o.status != "synced"
    }


def diff(old: dict[Key, Row], new: dict[Key, Row]) -> Delta:
    delta = Delta(gone=[k for k in old if k not in new])
    for key, row in new.items():
        before = old.get(key)
        if before is None:
            delta.new[key] = row
        elif before != row:
            delta.changed[key] = row
    if len(delta.gone) + len(delta.changed) > REWRITE_SHARE * max(len(old), 1) and old:
        return Delta(new=new, rewrite=True)
    return delta


def _values(spoke: str, key: Key, row: Row) -> dict[str, str]:
    return {
        "spoke": spoke,
        "group": key[0],
        "kind": key[1],
        "namespace": key[2],
        "name": key[3],
        **dict(zip(_COLUMNS, row, strict=True)),
    }


def _key(spoke: str, key: Key) -> dict[str, str]:
    return {"k_spoke": spoke, "k_group": key[0], "k_kind": key[1], "k_namespace": key[2], "k_name": key[3]}


def apply(s: Session, spoke: str, delta: Delta) -> None:
    """Write the difference (inside the transaction that stores the report and holds the spoke's lock)."""
    if delta.rewrite:
        s.execute(delete(ObjectState).where(ObjectState.spoke == spoke))
    elif delta.gone:
        s.execute(delete(_TABLE).where(_SAME_OBJECT), [_key(spoke, k) for k in delta.gone])
    if delta.changed:
        s.execute(
            update(_TABLE).where(_SAME_OBJECT).values({c: bindparam(f"v_{c}") for c in _COLUMNS}),
            [
                {**_key(spoke, k), **{f"v_{c}": v for c, v in zip(_COLUMNS, row, strict=True)}}
                for k, row in delta.changed.items()
            ],
        )
    if delta.new:
        s.execute(insert(_TABLE), [_values(spoke, k, row) for k, row in delta.new.items()])


@dataclass(frozen=True)
class Plan:
    """What a report changes in its spoke's rows, worked out before the write transaction."""

    seen: str | None
    rows: dict[Key, Row]
    delta: Delta


def plan(s: Session, report: ReportIn) -> Plan:
    """Read and compare outside the writer lock (the costly part for a large report)."""
    snapshot, rows = read(s, report.spoke), wanted(report)
    return Plan(snapshot.seen, rows, diff(snapshot.rows, rows))


def write(s: Session, spoke: str, planned: Plan, latest: str | None) -> None:
    """Apply `planned`: the caller holds the spoke's lock and read its `latest` report under it."""
    delta = planned.delta
    if latest != planned.seen:  # another report of this spoke was stored since the plan: compare again
        delta = diff(read(s, spoke).rows, planned.rows)
    apply(s, spoke, delta)
