"""The rows one report becomes: its list-view summary and the spoke's new current state.

Pure functions of the report and what the spoke's row said before, so the store's ingest transaction reads as
"lock, check, write" and the rules for what a spoke's state means (when it was applied, why it waits) sit in one
place that can be read without the locking around them.
"""

from __future__ import annotations

from typing import Any

from razee.hub.model import ReportIn
from razee.hub.schema import SpokeState
from razee.wire import OK_RESULTS


def summary(report: ReportIn) -> dict[str, Any]:
    """The small document the history view reads instead of the body (a body can be megabytes)."""
    statuses = [o.status for o in report.objects]
    return {
        "source": report.source,
        "counts": report.counts,
        "error": (report.error or "")[:500],
        "durations": report.durations,
        "agentTime": report.time,
        "wave": report.wave,
        "drifted": statuses.count("drifted"),
        "missing": statuses.count("missing"),
        "failed": statuses.count("failed"),
        "objects": len(report.objects),
        "infrastructure": report.infrastructure,
    }


def history_item(
    report_id: str, received: float, result: str, revision: str, size: int | None, doc: dict[str, Any] | None
) -> dict[str, Any]:
    """One line of a spoke's history, from the report's row and the summary stored with it."""
    doc = doc or {}
    return {
        "id": report_id,
        "received": received,
        "result": result,
        "revision": revision,
        "bytes": size,
        "source": doc.get("source", {}),
        "counts": doc.get("counts", {}),
        "error": doc.get("error") or None,
        "durations": doc.get("durations", {}),
        "agentTime": doc.get("agentTime"),
        "drifted": doc.get("drifted", 0),
        "missing": doc.get("missing", 0),
        "failed": doc.get("failed", 0),
        "infrastructure": doc.get("infrastructure", {}),
    }


def _error(report: ReportIn) -> str | None:
    """The pass's error, else why the agent waits for a revision (the rollout gate's reason), else None."""
    if report.error:
        return report.error
    if report.rollout.get("reason"):
        return f"waiting for {report.rollout.get('revision', '')[:12]}: {report.rollout['reason']}"
    return None


def spoke_state(report: ReportIn, current: SpokeState | None, revision: str, now: float) -> SpokeState:
    """The spoke's state after `report`. `applied_at` is when the revision first succeeded: a later report of the
    same revision keeps it, so "applied 3 h ago" does not reset on every in-sync pass."""
    statuses = [o.status for o in report.objects]
    ok = report.result in OK_RESULTS
    applied_at = (
        current.applied_at
        if current is not None and current.revision == revision and current.applied_at is not None
        else (now if ok else None)
    )
    return SpokeState(
        name=report.spoke,
        region=report.region,
        agent=report.agent,
        last_seen=now,
        agent_time=report.time,
        report_id=report.id,
        result=report.result,
        revision=revision,
        objects=sum(report.counts.values()) or len(report.objects),
        drifted=statuses.count("drifted"),
        missing=statuses.count("missing"),
        failed=statuses.count("failed"),
        unhealthy=len(report.unhealthy),
        error=_error(report),
        wave=report.wave,
        applied_at=applied_at,
        degraded=sum(1 for u in report.unhealthy if u.get("status") == "degraded"),
    )
