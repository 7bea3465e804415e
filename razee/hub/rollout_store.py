"""The hub's rollout-safety rows (issue 27): check results, each spoke's applied revisions, completions, rollbacks.

Kept apart from razee/hub/store.py, which calls `record_report` inside the transaction that stores a report, so a
report and what it says about checks and applied revisions are stored together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from razee.hub.model import CheckIn, ReportIn
from razee.hub.schema import Revision, Rollback, RolloutCheck, RolloutCompletion, SpokeRevision
from razee.hub.upsert import upsert
from razee.wire import OK_RESULTS

"""Results that say the spoke runs the report's revision (a held spoke may report the one it waits for)."""
HISTORY = 200


def describe(check: CheckIn) -> str:
    shown = "no data" if check.value is None else f"{check.value:g}"
    return f"check {check.check} = {shown} ({check.threshold})" + (f": {check.error}" if check.error else "")


def record_report(s: Session, report: ReportIn, revision: str, now: float) -> None:
    """The report's check results (a first failure is kept for good) and the revision it runs, if new to it."""
    if not revision:
        return
    if report.result in OK_RESULTS:
        healthy = not report.unhealthy
        s.execute(
            upsert(
                s,
                SpokeRevision,
                {
                    "spoke": report.spoke,
                    "revision": revision,
                    "applied_at": now,
                    "healthy_at": now if healthy else None,
                },
                ["spoke", "revision"],
                [],
            )
        )
        if healthy:  # the first healthy report of a revision it applied before (rolling out then)
            s.execute(
                update(SpokeRevision)
                .where(
                    SpokeRevision.spoke == report.spoke,
                    SpokeRevision.revision == revision,
                    SpokeRevision.healthy_at.is_(None),
                )
                .values(healthy_at=now)
            )
    for c in report.checks:
        row = s.get(RolloutCheck, (report.spoke, revision, c.check))
        failed = row.failed if row is not None and row.failed else (describe(c) if c.result == "fail" else "")
        values = {
            "spoke": report.spoke,
            "revision": revision,
            "check": c.check,
            "result": c.result,
            "value": c.value,
            "threshold": c.threshold,
            "error": c.error,
            "at": now,
            "failed": failed,
        }
        s.execute(
            upsert(
                s,
                RolloutCheck,
                values,
                ["spoke", "revision", "check"],
                ["result", "value", "threshold", "error", "at", "failed"],
            )
        )


@dataclass(frozen=True)
class CheckState:
    failed: str  # the first failure, named with the check and value
    waiting: str  # a check without a passing latest result, and why


def check_states(s: Session, revision: str) -> dict[str, CheckState]:
    """Per spoke, what its checks say about `revision`."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for row in s.execute(
        select(RolloutCheck).where(RolloutCheck.revision == revision).order_by(RolloutCheck.spoke, RolloutCheck.check)
    ).scalars():
        failed, waiting = out.setdefault(row.spoke, ([], []))
        if row.failed:
            failed.append(row.failed)
        elif row.result != "pass":
            waiting.append(f"check {row.check} has no passing result yet" + (f" ({row.error})" if row.error else ""))
    return {spoke: CheckState("; ".join(f), "; ".join(w)) for spoke, (f, w) in out.items()}


def checks_of(s: Session, revision: str) -> list[dict[str, object]]:
    rows = s.execute(
        select(RolloutCheck).where(RolloutCheck.revision == revision).order_by(RolloutCheck.spoke, RolloutCheck.check)
    ).scalars()
    return [
        {
            "spoke": r.spoke,
            "check": r.check,
            "result": "fail" if r.failed else r.result,
            "value": r.value,
            "threshold": r.threshold,
            "error": r.error,
            "at": r.at,
            "failed": r.failed,
        }
        for r in rows
    ]


def had(s: Session, spoke: str) -> list[str]:
    """The revisions `spoke` applied, newest (in commit order as the hub learned it) first."""
    rows = s.execute(
        select(SpokeRevision.revision)
        .join(Revision, Revision.revision == SpokeRevision.revision)
        .where(SpokeRevision.spoke == spoke)
        .order_by(Revision.seq.desc())
        .limit(HISTORY)
    ).scalars()
    return list(rows)


def completed(s: Session, revisions: Sequence[str]) -> set[str]:
    if not revisions:
        return set()
    return set(
        s.execute(select(RolloutCompletion.revision).where(RolloutCompletion.revision.in_(list(revisions)))).scalars()
    )


def mark_completed(s: Session, revision: str, now: float) -> None:
    s.execute(upsert(s, RolloutCompletion, {"revision": revision, "at": now}, ["revision"], []))


def record_rollback(s: Session, spoke: str, bad: str, target: str, reason: str, by: str, now: float) -> None:
    """Once per spoke and halted revision: asked again, the first record (who, when, why) stays."""
    s.execute(
        upsert(
            s,
            Rollback,
            {
                "spoke": spoke,
                "from_revision": bad,
                "to_revision": target,
                "reason": reason[:2000],
                "by": by[:128],
                "at": now,
            },
            ["spoke", "from_revision"],
            [],
        )
    )


def rollbacks(s: Session, revision: str | None = None, limit: int = 50) -> list[dict[str, object]]:
    q = select(Rollback).order_by(Rollback.at.desc()).limit(limit)
    if revision:
        q = q.where(Rollback.from_revision == revision)
    return [
        {"spoke": r.spoke, "from": r.from_revision, "to": r.to_revision, "reason": r.reason, "by": r.by, "at": r.at}
        for r in s.execute(q).scalars()
    ]


@dataclass(frozen=True)
class Applied:
    applied_at: float
    healthy_at: float | None


def applied_by(s: Session, revision: str) -> dict[str, Applied]:
    """Per spoke that ever applied `revision`: when, and when it first was healthy on it."""
    rows = s.execute(select(SpokeRevision).where(SpokeRevision.revision == revision)).scalars()
    return {r.spoke: Applied(r.applied_at, r.healthy_at) for r in rows}


def taken_up(s: Session, revisions: Sequence[str]) -> set[str]:
    """Which of `revisions` at least one spoke applied."""
    if not revisions:
        return set()
    return set(
        s.execute(
            select(SpokeRevision.revision).where(SpokeRevision.revision.in_(list(revisions))).distinct()
        ).scalars()
    )
