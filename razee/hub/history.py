"""A revision's rollout as it happened, for the views: what each spoke did with it, not where the spoke is now.

The gate (razee/rollout/gate.py) judges the revision an agent asks about from each spoke's current state, which is
right for the rollout going on. For an older revision the current state is the wrong witness: a spoke that applied
it, became healthy and moved on to a newer revision would read as "not applied" and, past the progress deadline, as
failed, and the revision as halted. So the views replace, for each spoke that moved on, its current state with what
the hub recorded for that revision (razee/hub/rollout_store.py: when it applied it and when it first was healthy on
it), and judge a revision that a newer one superseded as of the moment it was superseded: a spoke still waiting
then was skipped, never failed, and a superseded revision is never shown as halted.

A revision is superseded by the next newer revision (in the hub's commit order) that the fleet repo declares and
that at least one spoke applied: a commit the hub could not load, or one every agent refused, supersedes nothing,
since the fleet stays on the revision before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select

from razee.hub import rollout_store
from razee.hub.schema import Revision
from razee.hub.store import Store
from razee.rollout.gate import SpokeRollout

NEWER_LOOKED_AT = 50
"""Newer revisions searched for the one that superseded a revision: a revision 50 commits back that none of them
superseded would be a fleet that took none of 50 commits."""


@dataclass(frozen=True)
class Superseded:
    by: str  # the revision that superseded it
    at: float  # when the hub learned of that revision: the moment the old rollout's picture is frozen at


def superseded(store: Store, revision: str) -> Superseded | None:
    with store.session() as s:
        row = s.get(Revision, revision)
        if row is None:
            return None
        newer = s.execute(
            select(Revision.revision, Revision.first_seen)
            .where(Revision.seq > row.seq, Revision.declared.is_not(None), Revision.error.is_(None))
            .order_by(Revision.seq)
            .limit(NEWER_LOOKED_AT)
        ).all()
        taken = rollout_store.taken_up(s, [r for r, _ in newer])
    return next((Superseded(r, at) for r, at in newer if r in taken), None)


def as_it_happened(store: Store, revision: str, reports: list[SpokeRollout]) -> list[SpokeRollout]:
    """Each spoke as it stood with `revision`: a spoke now elsewhere that was healthy on it counts as applied."""
    with store.session() as s:
        applied = rollout_store.applied_by(s, revision)
    out = []
    for r in reports:
        done = applied.get(r.spoke)
        if r.revision != revision and done is not None and done.healthy_at is not None:
            r = replace(
                r,
                revision=revision,
                result="applied",
                applied_at=done.applied_at,
                unhealthy=0,
                degraded=0,
                tried=True,
                tried_result="applied",
                checks_waiting="",
            )
        out.append(r)
    return out
