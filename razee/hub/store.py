"""The hub's storage: ingest reports, answer fleet-wide questions. SQLite (WAL) by default, PostgreSQL for scale."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from razee.hub.model import ReportIn
from razee.hub.schema import Approval, ObjectState, Report, RolloutControl, SpokeState


def engine_for(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


RETAIN_EVERY = 16
"""Trim a spoke's history on every 16th report: retention stays bounded without a query per report."""


@dataclass(frozen=True)
class Page:
    limit: int = 100
    offset: int = 0


class Store:
    def __init__(self, engine: Engine, stale_after: float = 600.0, keep_reports: int = 200) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.stale_after = stale_after
        self.keep_reports = keep_reports
        self._ingested: dict[str, int] = {}
        self.retain_every = RETAIN_EVERY

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as s, s.begin():
            yield s

    # -- writes -------------------------------------------------------------------------------------------------
    def ingest(self, report: ReportIn, body: dict[str, Any]) -> bool:
        """Store a report and make it the spoke's latest state; False when this report id was stored before.

        Two reports of one spoke arriving at once can collide on the spoke's rows; the loser retries, so neither
        is lost.
        """
        for attempt in range(5):
            try:
                return self._ingest_once(report, body)
            except (IntegrityError, OperationalError):
                with self.session() as s:
                    if s.get(Report, report.id) is not None:
                        return False
                if attempt == 4:
                    raise
                time.sleep(0.01 * (attempt + 1))
        return False  # unreachable

    def _ingest_once(self, report: ReportIn, body: dict[str, Any]) -> bool:
        now = time.time()
        with self.session() as s:
            if s.get(Report, report.id) is not None:
                return False
            s.add(Report(id=report.id, spoke=report.spoke, received=now, result=report.result,
                         revision=report.source.get("revision", ""), body=json.dumps(body, sort_keys=True)))
            self._ingested[report.spoke] = self._ingested.get(report.spoke, 0) + 1
            if self._ingested[report.spoke] % self.retain_every == 1 or self.retain_every == 1:
                self._retain(s, report.spoke)
            current = s.get(SpokeState, report.spoke)
            if current is not None and current.last_seen > report.time + 1e-6 and current.report_id != report.id:
                return True  # an older report arriving late: kept in history, not made current
            statuses = [o.status for o in report.objects]
            revision = report.source.get("revision", "")
            ok = report.result in ("applied", "in-sync", "healed", "drifted")
            applied_at = (current.applied_at if current is not None and current.revision == revision
                          and current.applied_at is not None else (report.time if ok else None))
            s.merge(SpokeState(
                name=report.spoke, region=report.region, agent=report.agent, last_seen=report.time,
                report_id=report.id, result=report.result, revision=report.source.get("revision", ""),
                objects=sum(report.counts.values()) or len(report.objects), drifted=statuses.count("drifted"),
                failed=statuses.count("failed"), unhealthy=len(report.unhealthy),
                error=report.error or (f"waiting for {report.rollout.get('revision', '')[:12]}: "
                                       f"{report.rollout['reason']}" if report.rollout.get("reason") else None),
                wave=report.wave, applied_at=applied_at,
                degraded=sum(1 for u in report.unhealthy if u.get("status") == "degraded")))
            if report.result != "rejected":  # a rejected revision changed nothing in the cluster
                s.execute(delete(ObjectState).where(ObjectState.spoke == report.spoke))
                s.add_all([ObjectState(spoke=report.spoke, group=o.group, kind=o.kind, namespace=o.namespace,
                                       name=o.name, region=report.region, status=o.status,
                                       paths=json.dumps(o.paths), message=o.message)
                           for o in report.objects if o.status != "synced"])
        return True

    def _retain(self, s: Session, spoke: str) -> None:
        """Bounded history per spoke; the latest state lives in `spokes` and is never deleted."""
        cutoff = s.execute(select(Report.received).where(Report.spoke == spoke).order_by(Report.received.desc())
                           .offset(self.keep_reports).limit(1)).scalar()
        if cutoff is not None:
            s.execute(delete(Report).where(Report.spoke == spoke, Report.received <= cutoff))

    # -- reads --------------------------------------------------------------------------------------------------
    def _spoke_json(self, sp: SpokeState, now: float) -> dict[str, Any]:
        return {"spoke": sp.name, "region": sp.region, "agent": sp.agent, "lastSeen": sp.last_seen,
                "stale": now - sp.last_seen > self.stale_after, "result": sp.result, "revision": sp.revision,
                "objects": sp.objects, "drifted": sp.drifted, "failed": sp.failed, "unhealthy": sp.unhealthy,
                "error": sp.error}

    def summary(self) -> dict[str, Any]:
        now = time.time()
        with self.session() as s:
            by_revision = dict(s.execute(select(SpokeState.revision, func.count()).group_by(SpokeState.revision)).all())
            by_region = dict(s.execute(select(SpokeState.region, func.count()).group_by(SpokeState.region)).all())
            by_result = dict(s.execute(select(SpokeState.result, func.count()).group_by(SpokeState.result)).all())
            total = s.execute(select(func.count()).select_from(SpokeState)).scalar() or 0
            stale = s.execute(select(func.count()).select_from(SpokeState)
                              .where(SpokeState.last_seen < now - self.stale_after)).scalar() or 0
            drifted = s.execute(select(func.count()).select_from(ObjectState)
                                .where(ObjectState.status == "drifted")).scalar() or 0
        return {"spokes": total, "stale": stale, "driftedObjects": drifted, "byRevision": by_revision,
                "byRegion": by_region, "byResult": by_result}

    def spokes(self, page: Page, region: str | None = None) -> dict[str, Any]:
        now = time.time()
        with self.session() as s:
            q = select(SpokeState).order_by(SpokeState.region, SpokeState.name)
            if region:
                q = q.where(SpokeState.region == region)
            rows: Sequence[SpokeState] = s.execute(q.limit(page.limit).offset(page.offset)).scalars().all()
            return {"items": [self._spoke_json(r, now) for r in rows], "limit": page.limit, "offset": page.offset}

    def drift(self, page: Page, region: str | None = None, spoke: str | None = None, kind: str | None = None,
              namespace: str | None = None, status: str = "drifted") -> dict[str, Any]:
        with self.session() as s:
            q = select(ObjectState).where(ObjectState.status == status)
            for column, value in ((ObjectState.region, region), (ObjectState.spoke, spoke),
                                  (ObjectState.kind, kind), (ObjectState.namespace, namespace)):
                if value:
                    q = q.where(column == value)
            q = q.order_by(ObjectState.region, ObjectState.spoke, ObjectState.kind, ObjectState.namespace,
                           ObjectState.name)
            rows = s.execute(q.limit(page.limit).offset(page.offset)).scalars().all()
            items = [{"region": o.region, "spoke": o.spoke, "group": o.group, "kind": o.kind,
                      "namespace": o.namespace, "name": o.name, "status": o.status, "paths": json.loads(o.paths),
                      "message": o.message} for o in rows]
        return {"items": items, "limit": page.limit, "offset": page.offset}

    def rollout(self, revision: str | None) -> dict[str, Any]:
        """Which spokes run a revision (default: the newest one any spoke reported), which failed, which wait."""
        with self.session() as s:
            if not revision:
                revision = s.execute(select(Report.revision).where(Report.revision != "")
                                     .order_by(Report.received.desc()).limit(1)).scalar() or ""
            spokes = s.execute(select(SpokeState).order_by(SpokeState.region, SpokeState.name)).scalars().all()
            tried = {r for (r,) in s.execute(select(Report.spoke).where(Report.revision == revision)).all()}
            rejected = {r for (r,) in s.execute(select(Report.spoke).where(Report.revision == revision,
                                                                            Report.result == "rejected")).all()}
        applied, failed, pending = [], [], []
        halted = ""
        for sp in spokes:
            if sp.result == "waiting" and sp.error and sp.error.startswith(f"waiting for {revision[:12]}: halted:"):
                halted = sp.error.split(": ", 1)[1]
            if sp.revision == revision and sp.result in ("applied", "in-sync", "healed", "drifted"):
                applied.append(sp.name)
            elif sp.name in rejected or (sp.revision == revision and sp.result == "failed") or (
                    sp.name in tried and sp.result == "failed"):
                failed.append(sp.name)
            else:
                pending.append(sp.name)
        return {"revision": revision, "applied": applied, "failed": failed, "pending": pending, "halted": halted}

    # -- rollout ------------------------------------------------------------------------------------------------
    def rollout_state(self, revision: str) -> dict[str, Any]:
        """What the rollout gate needs: every spoke's wave and state, and what it last reported for `revision`."""
        with self.session() as s:
            spokes = s.execute(select(SpokeState).order_by(SpokeState.name)).scalars().all()
            tried: dict[str, str] = {}
            for spoke, result in s.execute(select(Report.spoke, Report.result).where(Report.revision == revision)
                                           .order_by(Report.received)).all():
                tried[spoke] = result
            paused = s.get(RolloutControl, "paused")
            approved = [a.wave for a in s.execute(select(Approval).where(Approval.revision == revision)).scalars()]
        return {"revision": revision, "paused": paused is not None and paused.value != "",
                "pausedBy": paused.value if paused is not None else "", "approved": sorted(approved),
                "spokes": [{"spoke": sp.name, "wave": sp.wave, "revision": sp.revision, "result": sp.result,
                            "appliedAt": sp.applied_at, "unhealthy": sp.unhealthy,
                            "degraded": sp.degraded + sp.failed,
                            "tried": sp.name in tried, "triedResult": tried.get(sp.name, "")} for sp in spokes]}

    def set_paused(self, by: str) -> None:
        with self.session() as s:
            s.merge(RolloutControl(name="paused", value=by))

    def approve(self, revision: str, wave: str) -> None:
        with self.session() as s:
            s.merge(Approval(revision=revision, wave=wave, at=time.time()))

    def history(self, spoke: str, page: Page) -> dict[str, Any]:
        with self.session() as s:
            rows = s.execute(select(Report).where(Report.spoke == spoke).order_by(Report.received.desc())
                             .limit(page.limit).offset(page.offset)).scalars().all()
            items = []
            for r in rows:
                body = json.loads(r.body)
                items.append({"id": r.id, "received": r.received, "result": r.result, "revision": r.revision,
                              "source": body.get("source", {}), "counts": body.get("counts", {}),
                              "error": body.get("error")})
        return {"items": items, "limit": page.limit, "offset": page.offset}
