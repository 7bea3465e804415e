"""The hub's side of rollout safety (issue 27): is a revision halted or complete, and which spoke goes back where.

Halts come from the gate's own rules (razee/rollout/gate.py) over the declared waves, including failed checks,
and include the last wave: with `onFailure: rollback` a halted revision sends every spoke that applied it back to
the newest revision it had that completed its rollout (razee/rollout/rollback.py). The hub records the rollback
the first time it tells a spoke, and records a completion the first time it sees one: after spokes move on, the
current state no longer shows that a revision once completed everywhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from razee.fleet.model import Wave
from razee.hub import rollout_store
from razee.hub.store import Store
from razee.rollout.gate import SpokeRollout, WaveState, revision_halt, wave_states
from razee.rollout.rollback import rollback_target

ROLLED_BACK_BY = "razee hub (onFailure: rollback)"


@dataclass(frozen=True)
class Status:
    declared: bool
    on_failure: str
    waves: list[Wave]
    members: dict[str, str]
    states: list[WaveState]
    halted: str
    complete: bool


def status(store: Store, revision: str, reports: list[SpokeRollout], now: float) -> Status:
    row = store.revision(revision)
    if row is None or row.declared is None:
        return Status(False, "halt", [], {}, [], "", False)
    declared = row.declared
    waves = [Wave.model_validate(w) for w in declared["waves"]]
    members = {d["spoke"]: d["wave"] for d in declared["spokes"]}
    states = wave_states(revision, waves, members, reports, now, row.first_seen)
    halt = revision_halt(waves, states)
    # every wave passed: within its failure limit (a tolerated failure passes), nobody waiting, baked
    complete = (
        halt is None and any(st.applied for st in states) and all(not st.waiting and st.bake_left == 0 for st in states)
    )
    return Status(
        True, str(declared.get("onFailure", "halt")), waves, members, states, halt.reason if halt else "", complete
    )


def answer(store: Store, revision: str, spoke: str | None, reports: list[SpokeRollout], record: bool) -> dict[str, Any]:
    """`complete`, `halted` and, for a spoke that must go back, `rollback` {from, to, reason, by}."""
    now = time.time()
    st = status(store, revision, reports, now)
    out: dict[str, Any] = {"complete": st.complete, "halted": st.halted, "onFailure": st.on_failure}
    with store.session() as s:
        if st.complete and record:
            rollout_store.mark_completed(s, revision, now)
        if not (spoke and st.halted and st.on_failure == "rollback"):
            return out
        had = rollout_store.had(s, spoke)
        if revision not in had and not any(
            r.spoke == spoke and r.tried and r.tried_result != "rejected" for r in reports
        ):
            return out  # it never applied the halted revision: nothing to undo
        target = rollback_target(had, rollout_store.completed(s, had), revision)
        if target is None:
            out["rollbackImpossible"] = "no earlier revision of this spoke completed its rollout"
            return out
        if record:
            rollout_store.record_rollback(s, spoke, revision, target, st.halted, ROLLED_BACK_BY, now)
    out["rollback"] = {"from": revision, "to": target, "reason": st.halted, "by": ROLLED_BACK_BY}
    return out
