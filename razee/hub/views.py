"""Fleet-wide views: what the fleet repo declares joined with what agents report. Neither alone is the truth.

A declared spoke that never reported is listed as such; a reporting spoke the repo no longer declares is marked
undeclared. A revision's rollout comes from the spokes that revision declares and the rollout gate's own rules
(razee/rollout/gate.py), so the hub shows exactly what the agents decide; an older revision's rollout is told as
it happened, from the spokes' history (razee/hub/history.py).
"""

from __future__ import annotations

import re
import time
from typing import Any

from razee import wire
from razee.hub import rollout_safety, rollout_store
from razee.hub.clock import calendar_now
from razee.hub.schema import Revision, SpokeState
from razee.hub.store import Page, Store
from razee.rollout.gate import SpokeRollout

STATES = ("in-sync", "drifted", "missing", "failed", "rolling-out", "held", "never-reported", "stale")
"""The legend: every spoke is in exactly one of these."""


def declared_fleet(store: Store) -> tuple[Revision | None, dict[str, Any] | None]:
    """The newest revision whose declaration the hub read from the repo, and that declaration."""
    rows = store.revisions(1, declared_only=True)
    if not rows or rows[0].declared is None:
        return None, None
    return rows[0], rows[0].declared


def _state(sp: SpokeState | None, stale: bool) -> str:
    if sp is None:
        return "never-reported"
    if stale:
        return "stale"
    if sp.result in ("failed", "rejected") or sp.failed or sp.degraded:
        return "failed"
    if sp.missing:
        return "missing"
    if sp.drifted or sp.result == "drifted":
        return "drifted"
    if sp.result == "waiting":
        return "held"
    if sp.unhealthy:
        return "rolling-out"
    return "in-sync"


def spoke_list(store: Store) -> list[dict[str, Any]]:
    """Every declared spoke and every reporting one, sorted by region and name."""
    now = time.time()
    _, declared = declared_fleet(store)
    rows = {sp.name: sp for sp in store.spoke_rows()}
    decl = {d["spoke"]: d for d in (declared or {}).get("spokes", [])}
    out = []
    for name in sorted(set(rows) | set(decl)):
        sp, d = rows.get(name), decl.get(name)
        stale = sp is not None and now - sp.last_seen > store.stale_after
        out.append(
            {
                "spoke": name,
                "region": d["region"] if d else sp.region if sp else "",
                "wave": d["wave"] if d else sp.wave if sp else "",
                "clusters": d["clusters"] if d else None,
                "declared": d is not None or declared is None,
                "reported": sp is not None,
                "state": _state(sp, stale),
                "stale": stale,
                "lastSeen": sp.last_seen if sp else None,
                "agentTime": sp.agent_time if sp else None,
                "agent": sp.agent if sp else "",
                "result": sp.result if sp else "",
                "revision": sp.revision if sp else "",
                "objects": sp.objects if sp else 0,
                "drifted": sp.drifted if sp else 0,
                "missing": sp.missing if sp else 0,
                "failed": sp.failed if sp else 0,
                "unhealthy": sp.unhealthy if sp else 0,
                "error": sp.error if sp else None,
            }
        )
    out.sort(key=lambda x: (str(x["region"]), _natural(str(x["spoke"]))))
    return out


def _natural(name: str) -> tuple[str | int, ...]:
    """spoke-2 before spoke-10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def spokes(store: Store, page: Page, region: str | None = None) -> dict[str, Any]:
    items = [s for s in spoke_list(store) if not region or s["region"] == region]
    return {
        "items": items[page.offset : page.offset + page.limit],
        "total": len(items),
        "limit": page.limit,
        "offset": page.offset,
    }


def summary(store: Store) -> dict[str, Any]:
    items = spoke_list(store)
    revision, declared = declared_fleet(store)
    by: dict[str, dict[str, int]] = {"byRevision": {}, "byRegion": {}, "byResult": {}, "byState": {}}
    for s in items:
        for key, value in (
            ("byRevision", s["revision"]),
            ("byRegion", s["region"]),
            ("byResult", s["result"] or "never-reported"),
            ("byState", s["state"]),
        ):
            by[key][value] = by[key].get(value, 0) + 1
    by["byRevision"].pop("", None)
    objects = store.object_counts()
    return {
        "spokes": len(items),
        "declared": sum(1 for s in items if s["declared"]),
        "neverReported": sum(1 for s in items if not s["reported"]),
        "stale": sum(1 for s in items if s["stale"]),
        "clusters": sum(d["clusters"] for d in (declared or {}).get("spokes", [])),
        "declaredRevision": revision.revision if revision else "",
        "driftedObjects": objects.get("drifted", 0) + objects.get("missing", 0),
        "missingObjects": objects.get("missing", 0),
        "failedObjects": objects.get("failed", 0),
        **by,
    }


def _rollouts(store: Store, revision: str) -> list[SpokeRollout]:
    tried = store.tried(revision)
    with store.session() as s:
        checks = rollout_store.check_states(s, revision)
    none = rollout_store.CheckState("", "")
    return [
        SpokeRollout(
            sp.name,
            sp.wave,
            sp.revision,
            sp.result,
            sp.applied_at,
            sp.unhealthy,
            sp.degraded + sp.failed,
            sp.name in tried,
            tried.get(sp.name, ""),
            checks.get(sp.name, none).failed,
            checks.get(sp.name, none).waiting,
        )
        for sp in store.spoke_rows()
    ]


def rollout_state(store: Store, revision: str, record: bool = True, spoke: str | None = None) -> wire.RolloutState:
    """What an agent's rollout gate needs: every spoke's state, the hub's clock, and when the revision appeared.

    A question adds no revision row: revisions come from the fleet repo (or an agent's report of one it applied),
    whose first-seen time starts the progress deadlines; an agent's question may record a rollback or a completion
    of a revision the hub knows (`record`). `clock` is the hub's calendar (razee/hub/clock.py) for maintenance
    windows; `complete`, `halted` and, for `spoke` when the revision halted under onFailure: rollback, `rollback`
    (razee/hub/rollout_safety.py) tell the agent which revision to enforce.
    """
    row = store.revision(revision)
    since = row.first_seen if row is not None else time.time()
    paused = store.paused_by()
    reports = _rollouts(store, revision)
    spokes = [
        wire.SpokeState(
            spoke=s.spoke,
            wave=s.wave,
            revision=s.revision,
            result=s.result,
            applied_at=s.applied_at,
            unhealthy=s.unhealthy,
            degraded=s.degraded,
            tried=s.tried,
            tried_result=s.tried_result,
            check_failed=s.check_failed,
            checks_waiting=s.checks_waiting,
        )
        for s in reports
    ]
    return wire.RolloutState.model_validate(
        {
            "revision": revision,
            "paused": paused != "",
            "pausedBy": paused,
            "approved": sorted(store.approvals(revision)),
            "now": time.time(),
            "clock": calendar_now(),
            "since": since,
            "spokes": spokes,
            **rollout_safety.answer(store, revision, spoke, reports, record),
        }
    )


def default_revision(store: Store) -> str:
    """The newest revision in commit order (as the hub learned it), never merely the last report received."""
    rows = store.revisions(1, declared_only=True) or store.revisions(1)
    return rows[0].revision if rows else ""


def spoke_detail(store: Store, name: str) -> dict[str, Any] | None:
    """One spoke: its row in the fleet, objects out of sync, last passes, and the revision it runs."""
    entry = next((s for s in spoke_list(store) if s["spoke"] == name), None)
    if entry is None:
        return None
    objects = store.objects(
        Page(500, 0), spoke=name, statuses=("drifted", "missing", "failed", "pending", "terminating", "kept")
    )["items"]
    history = store.history(name, Page(20, 0))["items"]
    row = store.revision(entry["revision"]) if entry["revision"] else None
    return {
        **entry,
        "outOfSync": objects,
        "history": history,
        "revisionInfo": {
            "revision": entry["revision"],
            "author": row.author if row else "",
            "message": row.message if row else "",
            "committedAt": row.committed_at if row else "",
        },
        "infrastructure": history[0].get("infrastructure", {}) if history else {},
    }


def spoke_known(store: Store, name: str) -> bool:
    """Declared by the newest declaration or reporting: the spokes whose pages and histories exist (else 404)."""
    _, declared = declared_fleet(store)
    return any(d["spoke"] == name for d in (declared or {}).get("spokes", [])) or any(
        sp.name == name for sp in store.spoke_rows()
    )


def approval_refused(store: Store, revision: str, wave: str) -> str | None:
    """Why `wave` of `revision` cannot be approved (a 404), or None.

    An approval names a revision the hub knows and one of its waves: as the fleet repo declares them, or, for a
    revision the hub never read from the repo, as its spokes report them. An approval of a typo would otherwise
    be stored and answered 200, and the wave meant would still wait.
    """
    row = store.revision(revision)
    if row is None:
        return f"the hub knows no revision {revision} (nor one it is the only prefix of)"
    if row.declared is not None:
        waves = [str(w["name"]) for w in row.declared["waves"]]
    else:
        waves = sorted({sp.wave for sp in store.spoke_rows() if sp.wave})
    if wave not in waves:
        return f"revision {revision[:12]} has no wave {wave}; its waves: {', '.join(waves) or 'none known'}"
    return None
