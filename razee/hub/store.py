"""The hub's storage: ingest reports, remember revisions, answer row-level questions. SQLite (WAL) or PostgreSQL.

The hub's clock decides time and order: a report's place is when the hub received it; the agent's clock is kept as
data. Retention is bounded per spoke in reports and in bytes; list views read small summary columns, never bodies.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from razee.backoff import INGEST_RACE
from razee.hub import clusterrows, locks, objectrows, reportrows, rollout_store
from razee.hub.database import compact_sqlite, engine_for
from razee.hub.locks import xact_lock
from razee.hub.model import DRIFT_STATUSES, ReportIn
from razee.hub.schema import Approval, ObjectState, Report, Revision, RolloutControl, SpokeState
from razee.hub.upsert import upsert

log = logging.getLogger(__name__)

__all__ = ["Page", "Store", "engine_for"]  # engine_for lives in razee.hub.database; callers import it here


RETAIN_EVERY = 16
"""Trim a spoke's history on every 16th report (or a large one): bounded without a query per report."""


def _hold_spoke(s: Session, spoke: str) -> None:
    """Become the spoke's writer before reading what the write depends on. On PostgreSQL this locks the spoke's
    row (FOR UPDATE would too); on SQLite it begins the write transaction, which pysqlite otherwise begins only at
    the first write, so reads before it would see no lock (a first report has no row: the statement still does)."""
    s.execute(
        update(SpokeState)
        .where(SpokeState.name == spoke)
        .values(name=SpokeState.name)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Page:
    limit: int = 100
    offset: int = 0


class Store:
    def __init__(
        self, engine: Engine, stale_after: float = 600.0, keep_reports: int = 200, keep_bytes: int = 64 << 20
    ) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.stale_after = stale_after
        self.keep_reports = keep_reports
        self.keep_bytes = keep_bytes
        self._ingested: dict[str, int] = {}
        self.retain_every = RETAIN_EVERY
        self._freed = False  # retention deleted rows since the last look at SQLite's free pages
        self._compacting = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as s, s.begin():
            yield s

    # -- reports ------------------------------------------------------------------------------------------------
    def ingest(self, report: ReportIn, body: str) -> bool:
        """Store a report and make it the spoke's latest state; False when this report id was stored before.

        Several hub replicas may write at once. A report id stored twice (an agent retried on another replica
        after losing the answer) is refused by the primary key: the loser re-reads and answers "stored before".
        Reports of one spoke are serialised by a lock on the spoke's row, so the spoke's current state is always
        the report the database saw last, and its receive time never goes back (replicas' clocks may differ a
        little). The first report of a spoke has no row to lock: a collision there is retried, so none is lost.
        """
        for attempt in range(5):
            try:
                stored = self._ingest_once(report, body)
                if self._freed:
                    self.compact()
                return stored
            except (IntegrityError, OperationalError):
                with self.session() as s:
                    if s.get(Report, report.id) is not None:
                        return False
                if attempt == 4:
                    raise
                time.sleep(INGEST_RACE.delay(attempt + 1))
        return False  # unreachable

    def _ingest_once(self, report: ReportIn, body: str) -> bool:
        revision = report.source.get("revision", "")
        planned = None  # a rejected revision changed nothing in the cluster: its objects are not written
        if report.result != "rejected":
            with self.session() as s:  # compared before the write transaction: outside SQLite's writer lock
                planned = objectrows.plan(s, report)
        with self.session() as s:
            _hold_spoke(s, report.spoke)
            current = s.get(SpokeState, report.spoke, with_for_update=True, populate_existing=True)
            latest = current.report_id if current is not None else None  # before the merge below changes it
            if s.get(Report, report.id) is not None:
                return False
            now = max(time.time(), current.last_seen if current is not None else 0.0)
            if report.clusters is not None or report.sources:  # kept latest-only in their own tables
                body = report.model_dump_json(by_alias=True, exclude={"clusters", "sources"})
            s.add(
                Report(
                    id=report.id,
                    spoke=report.spoke,
                    received=now,
                    result=report.result,
                    revision=revision,
                    body=body,
                    size=len(body),
                    summary=reportrows.summary(report),
                )
            )
            if revision and s.get(Revision, revision) is None:
                # its place in the order only: a commit's author and message come from the fleet repo alone
                # (record_revision), never from what an agent says the commit was (the report keeps that)
                self._add_revision(s, revision, now)
            n = self._ingested[report.spoke] = self._ingested.get(report.spoke, 0) + 1
            if n % self.retain_every == 1 or self.retain_every == 1 or len(body) * 16 > self.keep_bytes:
                self._retain(s, report.spoke)
            s.merge(reportrows.spoke_state(report, current, revision, now))
            rollout_store.record_report(s, report, revision, now)
            if planned is not None:  # a rejected revision changed nothing: its clusters and sources neither
                objectrows.write(s, report.spoke, planned, latest)
                clusterrows.write_clusters(s, report, revision, now)
                clusterrows.write_sources(s, report)
        return True

    def _retain(self, s: Session, spoke: str) -> None:
        """Bounded history per spoke, in reports and in bytes; the newest report always stays (and `spokes`)."""
        rows = s.execute(
            select(Report.id, Report.size).where(Report.spoke == spoke).order_by(Report.received.desc())
        ).all()
        total, drop = 0, []
        for i, (report_id, size) in enumerate(rows):
            total += size or 0
            if i > 0 and (i >= self.keep_reports or total > self.keep_bytes):
                drop.append(report_id)
        for chunk in range(0, len(drop), 500):
            s.execute(delete(Report).where(Report.id.in_(drop[chunk : chunk + 500])))
        self._freed = self._freed or bool(drop)

    def compact(self) -> bool:
        """On SQLite, give the pages retention freed back to the file system, and truncate the write-ahead log.

        Without it the file keeps its high-water mark (a probe found 140 MB and a 121 MB log for 67 kB kept).
        Runs after a retention pass (razee.hub.database.compact_sqlite), one thread at a time. PostgreSQL's
        autovacuum does this job there. True when it compacted.
        """
        self._freed = False
        if self.engine.dialect.name != "sqlite" or not self._compacting.acquire(blocking=False):
            return False
        try:
            return compact_sqlite(self.engine)
        except OperationalError as e:  # busy past the timeout: the next retention pass tries again
            log.warning("could not compact the SQLite database: %s", e)
            self._freed = True
            return False
        finally:
            self._compacting.release()

    def history(self, spoke: str, page: Page) -> dict[str, Any]:
        """A spoke's reports, newest first, from their summaries (a body can be megabytes: it is not read)."""
        with self.session() as s:
            rows = s.execute(
                select(Report.id, Report.received, Report.result, Report.revision, Report.size, Report.summary)
                .where(Report.spoke == spoke)
                .order_by(Report.received.desc())
                .limit(page.limit)
                .offset(page.offset)
            ).all()
        items = [reportrows.history_item(*row) for row in rows]
        return {"items": items, "limit": page.limit, "offset": page.offset}

    # -- rows the views join ------------------------------------------------------------------------------------
    def spoke_rows(self) -> Sequence[SpokeState]:
        with self.session() as s:
            return s.execute(select(SpokeState).order_by(SpokeState.region, SpokeState.name)).scalars().all()

    def spoke_row(self, name: str) -> SpokeState | None:
        with self.session() as s:
            return s.get(SpokeState, name)

    def object_counts(self) -> dict[str, int]:
        with self.session() as s:
            return {
                k: int(v)
                for k, v in s.execute(select(ObjectState.status, func.count()).group_by(ObjectState.status)).all()
            }

    def objects(
        self,
        page: Page,
        region: str | None = None,
        spoke: str | None = None,
        kind: str | None = None,
        namespace: str | None = None,
        statuses: Sequence[str] = DRIFT_STATUSES,
    ) -> dict[str, Any]:
        with self.session() as s:
            q = select(ObjectState).where(ObjectState.status.in_(list(statuses)))
            for column, value in (
                (ObjectState.region, region),
                (ObjectState.spoke, spoke),
                (ObjectState.kind, kind),
                (ObjectState.namespace, namespace),
            ):
                if value:
                    q = q.where(column == value)
            q = q.order_by(
                ObjectState.region, ObjectState.spoke, ObjectState.kind, ObjectState.namespace, ObjectState.name
            )
            rows = s.execute(q.limit(page.limit).offset(page.offset)).scalars().all()
            items = [
                {
                    "region": o.region,
                    "spoke": o.spoke,
                    "group": o.group,
                    "kind": o.kind,
                    "namespace": o.namespace,
                    "name": o.name,
                    "status": o.status,
                    "paths": json.loads(o.paths),
                    "message": o.message,
                    "takeovers": json.loads(o.takeovers or "[]"),
                }
                for o in rows
            ]
        return {"items": items, "limit": page.limit, "offset": page.offset}

    def tried(self, revision: str) -> dict[str, str]:
        """Each spoke's last result for `revision` (from the retained history)."""
        with self.session() as s:
            return {
                spoke: result
                for spoke, result in s.execute(
                    select(Report.spoke, Report.result).where(Report.revision == revision).order_by(Report.received)
                )
            }

    # -- revisions ----------------------------------------------------------------------------------------------
    def _add_revision(self, s: Session, revision: str, now: float) -> Revision:
        """The revision's row, added in the hub's order unless another writer added it first.

        Replicas following one repo add the same revision at once, and agents mention new revisions on any
        replica: under the lock, the row another writer committed is found, and `seq` values never repeat.
        """
        xact_lock(s, locks.REVISIONS)
        existing = s.execute(
            select(Revision).where(Revision.revision == revision).execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
        seq = (s.execute(select(func.max(Revision.seq))).scalar() or 0) + 1
        row = Revision(revision=revision, seq=seq, first_seen=now, author="", message="", committed_at="")
        s.add(row)
        s.flush()
        return row

    def record_revision(
        self, revision: str, info: dict[str, str], declared: dict[str, Any] | None, error: str | None
    ) -> None:
        """What the fleet repo declares at `revision` (from the hub's own fetch of the repo)."""
        with self.session() as s:
            row = s.get(Revision, revision) or self._add_revision(s, revision, time.time())
            row.author, row.message = info.get("author", "")[:200], info.get("message", "")[:200]
            row.committed_at = info.get("committedAt", "")[:64]
            row.declared = declared
            row.error = error[:2000] if error else None

    def revision(self, revision: str) -> Revision | None:
        with self.session() as s:
            return s.get(Revision, revision)

    def revisions(self, limit: int = 10, declared_only: bool = False) -> Sequence[Revision]:
        """The newest revisions, in commit order as the hub learned it."""
        with self.session() as s:
            q = select(Revision).order_by(Revision.seq.desc()).limit(limit)
            if declared_only:
                q = q.where(Revision.declared.is_not(None))
            return s.execute(q).scalars().all()

    def resolve_revision(self, prefix: str) -> str:
        """A full revision id from a prefix of one the hub knows (a person types 12 characters)."""
        with self.session() as s:
            found = (
                s.execute(
                    select(Revision.revision).where(Revision.revision.startswith(prefix, autoescape=True)).limit(2)
                )
                .scalars()
                .all()
            )
        return found[0] if len(found) == 1 else prefix

    # -- rollout controls ---------------------------------------------------------------------------------------
    def paused_by(self) -> str:
        with self.session() as s:
            row = s.get(RolloutControl, "paused")
            return row.value if row is not None else ""

    def set_paused(self, by: str) -> None:
        with self.session() as s:
            s.execute(upsert(s, RolloutControl, {"name": "paused", "value": by}, ["name"], ["value"]))

    def approve(self, revision: str, wave: str, by: str = "") -> None:
        with self.session() as s:  # approving again (from any replica) updates who and when
            s.execute(
                upsert(
                    s,
                    Approval,
                    {"revision": revision, "wave": wave, "at": time.time(), "by": by},
                    ["revision", "wave"],
                    ["at", "by"],
                )
            )

    def approvals(self, revision: str) -> dict[str, str]:
        with self.session() as s:
            return {a.wave: a.by for a in s.execute(select(Approval).where(Approval.revision == revision)).scalars()}
