"""The rollout page's answer: where one revision stands, wave by wave, as the agents' own gate decides it.

Apart from razee/hub/views.py (the fleet's spokes) because it is the hub's largest question and has its own
cases: a revision read from the fleet repo is told by its declared waves; one only agents mentioned is told from
the spokes that reported it; a superseded one is told as it stood when the next revision arrived
(razee/hub/history.py), with nobody waiting for it any more.
"""

from __future__ import annotations

import time
from typing import Any

from razee.fleet.model import Wave
from razee.hub import history, rollout_safety, rollout_store
from razee.hub.history import Superseded
from razee.hub.schema import Revision
from razee.hub.store import Store
from razee.hub.views import _rollouts, default_revision
from razee.rollout.gate import Decision, SpokeRollout, WaveState, decide, wave_states
from razee.wire import OK_RESULTS


def rollout(store: Store, revision: str | None) -> dict[str, Any]:
    """Where a revision stands, wave by wave: applied, waiting (and why), failed, timed out; the gate's reason."""
    revision = store.resolve_revision(revision) if revision else default_revision(store)
    row = store.revision(revision) if revision else None
    later = history.superseded(store, revision) if row is not None else None
    now = later.at if later is not None else time.time()  # a superseded rollout is judged as it stood then
    reports = history.as_it_happened(store, revision, _rollouts(store, revision))
    paused = store.paused_by() if later is None else ""
    approvals = store.approvals(revision)
    out: dict[str, Any] = {
        "revision": revision,
        "pausedBy": paused,
        "approved": approvals,
        "waves": [],
        "author": row.author if row else "",
        "message": row.message if row else "",
        "committedAt": row.committed_at if row else "",
        "declared": False,
        "error": row.error if row else None,
        "supersededBy": later.by if later is not None else "",
        "supersededAt": later.at if later is not None else None,
    }
    _safety(store, revision, reports, now, out)
    if later is not None:
        out["haltedAny"] = ""
    if row is None or row.declared is None:  # not read from the repo: only the spokes that reported can be told
        out.update(_as_reported(store, revision, reports, later))
        return out
    _by_wave(store, row, reports, now, later, out)
    return out


def _as_reported(store: Store, revision: str, reports: list[SpokeRollout], later: Superseded | None) -> dict[str, Any]:
    """A revision the hub never read from the repo has no waves: which spokes applied it, failed it, or not yet."""
    applied = [r.spoke for r in reports if r.revision == revision and r.result in OK_RESULTS]
    failed = [
        r.spoke
        for r in reports
        if r.spoke not in applied
        and (
            (r.revision == revision and r.result in ("failed", "rejected")) or r.tried_result in ("failed", "rejected")
        )
    ]
    pending = [r.spoke for r in reports if r.spoke not in applied and r.spoke not in failed]
    halted = next(
        (
            sp.error.split(": ", 1)[1]
            for sp in store.spoke_rows()
            if sp.result == "waiting" and sp.error and sp.error.startswith(f"waiting for {revision[:12]}: halted:")
        ),
        "",
    )
    return {
        "applied": sorted(applied),
        "failed": sorted(failed),
        "pending": sorted(pending),
        "neverReported": [],
        "halted": "" if later is not None else halted,
        "skipped": [],
    }


def _by_wave(
    store: Store, row: Revision, reports: list[SpokeRollout], now: float, later: Superseded | None, out: dict[str, Any]
) -> None:
    """A declared revision: each wave's state and the gate's decision for it, then the totals over all waves."""
    revision, declared = row.revision, row.declared or {}
    waves = [Wave.model_validate(w) for w in declared["waves"]]
    members = {d["spoke"]: d["wave"] for d in declared["spokes"]}
    states = wave_states(revision, waves, members, reports, now, row.first_seen)
    halted = ""
    for wave, state in zip(waves, states, strict=True):
        gate = decide(
            revision,
            wave.name,
            waves,
            members,
            reports,
            now,
            paused=bool(out["pausedBy"]),
            approved=frozenset(out["approved"]),
            started=row.first_seen,
        )
        if gate.halted and not halted:
            halted = gate.reason
        if later is not None:  # the rollout stopped here: not halted, and nobody waits for it any more
            gate = Decision(False, f"superseded by {later.by[:12]}")
        out["waves"].append(_wave(wave, state, gate, out["approved"].get(wave.name), later is not None))
    _held_reasons(store, revision, out)
    known = {r.spoke for r in reports}
    waiting = sorted(s for st in states for s in st.waiting)
    out.update(
        declared=True,
        applied=sorted(s for st in states for s in st.applied),
        failed=sorted(s for st in states for s in (*st.failed, *st.timed_out)),
        pending=waiting if later is None else [],
        skipped=waiting if later is not None else [],
        neverReported=sorted(s for s in members if s not in known),
        halted="" if later is not None else halted or out.get("haltedAny", ""),
    )


def _wave(wave: Wave, state: WaveState, gate: Decision, approved_by: str | None, superseded: bool) -> dict[str, Any]:
    """One wave's row: its members by state, its rules as declared, and what the gate says about it now."""
    return {
        "name": wave.name,
        "members": list(state.members),
        "applied": list(state.applied),
        "failed": list(state.failed),
        "timedOut": list(state.timed_out),
        "waiting": state.waiting if not superseded else {},
        "skipped": sorted(state.waiting) if superseded else [],
        "bakeLeft": round(state.bake_left),
        "bakeTime": wave.bake_time,
        "maxFailures": wave.max_failures,
        "progressDeadline": wave.progress_deadline,
        "requireApproval": wave.require_approval,
        "approvedBy": approved_by,
        "gate": {"allowed": gate.allowed, "reason": gate.reason},
        "checks": [c.model_dump(by_alias=True) for c in wave.checks],
        "whyFailed": state.why_failed,
    }


def _safety(store: Store, revision: str, reports: list[SpokeRollout], now: float, out: dict[str, Any]) -> None:
    """Check results, rollbacks from this revision, onFailure, and the halt of any wave (the last one too)."""
    st = rollout_safety.status(store, revision, reports, now)
    with store.session() as s:
        out.update(
            checks=rollout_store.checks_of(s, revision),
            rollbacks=rollout_store.rollbacks(s, revision),
            onFailure=st.on_failure,
            complete=st.complete,
            haltedAny=st.halted,
        )


def _held_reasons(store: Store, revision: str, out: dict[str, Any]) -> None:
    """A held spoke's own gate said why it waits (a maintenance window, an earlier wave): show its words."""
    held = {
        sp.name: sp.error.split(": ", 1)[1]
        for sp in store.spoke_rows()
        if sp.result == "waiting" and sp.error and sp.error.startswith(f"waiting for {revision[:12]}: ")
    }
    for wave in out["waves"]:
        for name in wave["waiting"]:
            if name in held:
                wave["waiting"][name] = held[name]
