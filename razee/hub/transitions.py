"""What changed in the fleet: a small snapshot of the joined view, and the events between two snapshots.

The snapshot is taken from the same joined view the dashboard shows (razee/hub/views.py), so a notification or a
metric never disagrees with the page. Events come from comparing two snapshots, never from single reports: a spoke
that sends a hundred drifted reports drifts once. Events carry names, states, a revision and a reason, never a
report's body.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from razee.fleet.model import Wave
from razee.hub import rollout_store, rollout_view, views
from razee.hub.store import Store
from razee.rollout.gate import decide, wave_states

REASON_CHARS = 300
"""A reason is a summary, not a log: an agent's error or the gate's sentence, cut to this length."""
REMEMBERED = 200
"""How many completed and rejected revisions a watcher remembers, so each is announced once (bounded memory)."""

KINDS = (
    "rollout-halted",
    "rollout-resumed",
    "rollout-completed",
    "spoke-stale",
    "spoke-back",
    "drift-appeared",
    "drift-cleared",
    "revision-rejected",
    "rollout-rolled-back",
)


@dataclass(frozen=True)
class SpokeView:
    state: str
    region: str
    drifted: int
    missing: int

    @property
    def drift(self) -> bool:
        return self.drifted > 0 or self.missing > 0 or self.state in ("drifted", "missing")


@dataclass(frozen=True)
class Snapshot:
    taken: float
    spokes: dict[str, SpokeView]
    revision: str = ""
    halted: str = ""
    """The gate's reason when the newest revision's rollout is halted (a pause is not a halt)."""
    complete: bool = False
    """Every spoke the newest revision declares applied it (false while the hub knows no declaration)."""
    paused: bool = False
    rejected: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Revisions refused: revision -> (who refused it: a spoke or `hub`, the reason)."""
    objects: dict[str, int] = field(default_factory=dict)
    rollbacks: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """Recent rollbacks: (spoke, from revision) -> (to revision, why)."""

    def by_state(self) -> dict[str, int]:
        counts = dict.fromkeys(views.STATES, 0)
        for sp in self.spokes.values():
            counts[sp.state] = counts.get(sp.state, 0) + 1
        return counts


@dataclass(frozen=True)
class Event:
    kind: str
    text: str
    """One line a person reads (Slack shows only this)."""
    spoke: str = ""
    region: str = ""
    state: str = ""
    revision: str = ""
    reason: str = ""
    time: float = field(default_factory=time.time)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """Stays the same across delivery retries, so a receiver can drop a duplicate."""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.kind,
            "time": self.time,
            "text": self.text,
            "spoke": self.spoke,
            "region": self.region,
            "state": self.state,
            "revision": self.revision,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Event:
        """The event as stored by the notifying replica (razee/hub/journal.py), with its id and time."""
        return cls(
            str(doc["event"]),
            str(doc["text"]),
            str(doc["spoke"]),
            str(doc["region"]),
            str(doc["state"]),
            str(doc["revision"]),
            str(doc["reason"]),
            float(doc["time"]),
            str(doc["id"]),
        )


def _rollout(store: Store) -> tuple[str, str, bool]:
    """The newest revision, the gate's halt reason for it (ignoring a pause), and whether its rollout is done."""
    revision = views.default_revision(store)
    if not revision:
        return "", "", False
    row = store.revision(revision)
    if row is None or row.declared is None:
        # no declaration: the agents' own words ("waiting for REV: halted: ...") are all the hub has
        return revision, str(rollout_view.rollout(store, revision).get("halted", "")), False
    declared = row.declared
    waves = [Wave.model_validate(w) for w in declared["waves"]]
    members = {d["spoke"]: d["wave"] for d in declared["spokes"]}
    reports = views._rollouts(store, revision)
    now = time.time()
    approved = frozenset(store.approvals(revision))
    halted = ""
    for wave in waves:
        gate = decide(revision, wave.name, waves, members, reports, now, approved=approved, started=row.first_seen)
        if gate.halted:
            halted = gate.reason
            break
    states = wave_states(revision, waves, members, reports, now, row.first_seen)
    applied = sum(len(s.applied) for s in states)
    return revision, halted, bool(members) and applied == len(members)


def take_snapshot(store: Store) -> Snapshot:
    """The joined view, reduced to what transitions and metrics need."""
    items = views.spoke_list(store)
    spokes = {
        str(s["spoke"]): SpokeView(str(s["state"]), str(s["region"]), int(s["drifted"]), int(s["missing"]))
        for s in items
    }
    rejected = {
        str(s["revision"]): (str(s["spoke"]), str(s["error"] or "rejected")[:REASON_CHARS])
        for s in items
        if s["result"] == "rejected" and s["revision"]
    }
    for row in store.revisions(10):
        if row.error and row.revision not in rejected:
            rejected[row.revision] = ("hub", row.error[:REASON_CHARS])
    revision, halted, complete = _rollout(store)
    with store.session() as s:
        rollbacks = {
            (str(r["spoke"]), str(r["from"])): (str(r["to"]), str(r["reason"])[:REASON_CHARS])
            for r in rollout_store.rollbacks(s, limit=REMEMBERED)
        }
    return Snapshot(
        time.time(),
        spokes,
        revision,
        halted[:REASON_CHARS],
        complete,
        store.paused_by() != "",
        rejected,
        store.object_counts(),
        rollbacks,
    )


class Transitions:
    """Remembers what was announced, so each transition becomes exactly one event."""

    def __init__(self, baseline: Snapshot) -> None:
        self.last = baseline
        self.completed: list[str] = [baseline.revision] if baseline.complete else []
        self.rejected: list[str] = list(baseline.rejected)[-REMEMBERED:]

    def advance(self, cur: Snapshot) -> list[Event]:
        events = changes(self.last, cur, frozenset(self.completed), frozenset(self.rejected))
        for e in events:
            seen = (
                self.completed
                if e.kind == "rollout-completed"
                else (self.rejected if e.kind == "revision-rejected" else None)
            )
            if seen is not None:
                seen.append(e.revision)
                del seen[:-REMEMBERED]
        self.last = cur
        return events


def changes(
    prev: Snapshot, cur: Snapshot, completed: frozenset[str] = frozenset(), rejected: frozenset[str] = frozenset()
) -> list[Event]:
    """The events between two snapshots (pure: the unit tests call it with made-up snapshots)."""
    out: list[Event] = []
    for name in sorted(cur.spokes):
        out += _spoke_changes(name, prev.spokes.get(name), cur.spokes[name])
    out += _rollout_changes(prev, cur, completed)
    out += _rollback_changes(prev, cur)
    out += _rejection_changes(prev, cur, rejected)
    return out


def _spoke_changes(name: str, before: SpokeView | None, now: SpokeView) -> list[Event]:
    """A spoke that stopped or resumed reporting, and drift that appeared or cleared on it."""
    out: list[Event] = []
    was_stale = before is not None and before.state == "stale"
    if now.state == "stale" and not was_stale:
        out.append(
            Event(
                "spoke-stale",
                f"spoke {name} ({now.region}) stopped reporting",
                spoke=name,
                region=now.region,
                state=now.state,
            )
        )
    elif was_stale and now.state != "stale":
        out.append(
            Event(
                "spoke-back",
                f"spoke {name} ({now.region}) reports again: {now.state}",
                spoke=name,
                region=now.region,
                state=now.state,
            )
        )
    had_drift = before is not None and before.drift
    if now.drift and not had_drift:
        out.append(
            Event(
                "drift-appeared",
                f"drift on spoke {name} ({now.region}): {now.drifted} changed, {now.missing} missing object(s)",
                spoke=name,
                region=now.region,
                state=now.state,
            )
        )
    elif had_drift and not now.drift and now.state != "stale":
        out.append(
            Event(
                "drift-cleared",
                f"spoke {name} ({now.region}) has no drift any more",
                spoke=name,
                region=now.region,
                state=now.state,
            )
        )
    return out


def _rollout_changes(prev: Snapshot, cur: Snapshot, completed: frozenset[str]) -> list[Event]:
    """The newest revision's rollout halting, resuming (or being superseded) and completing; `completed` holds
    revisions already announced, so a hub restart does not announce a completion twice."""
    out: list[Event] = []
    rev = cur.revision[:12]
    if prev.halted and (prev.revision != cur.revision or not cur.halted):
        why = f"superseded by {rev}" if prev.revision != cur.revision else "no longer halted"
        out.append(
            Event(
                "rollout-resumed", f"rollout of {prev.revision[:12]} resumed: {why}", revision=prev.revision, reason=why
            )
        )
    if cur.halted and (prev.revision != cur.revision or not prev.halted):
        out.append(
            Event("rollout-halted", f"rollout of {rev} halted: {cur.halted}", revision=cur.revision, reason=cur.halted)
        )
    if cur.complete and cur.revision not in completed and not (prev.complete and prev.revision == cur.revision):
        out.append(
            Event(
                "rollout-completed",
                f"rollout of {rev} completed: every declared spoke applied it",
                revision=cur.revision,
            )
        )
    return out


def _rollback_changes(prev: Snapshot, cur: Snapshot) -> list[Event]:
    """Each spoke's automatic rollback, once (the snapshot keeps the last REMEMBERED)."""
    out: list[Event] = []
    for (spoke, bad), (good, reason) in sorted(cur.rollbacks.items()):
        if (spoke, bad) not in prev.rollbacks:
            out.append(
                Event(
                    "rollout-rolled-back",
                    f"spoke {spoke} rolled back from {bad[:12]} to {good[:12]}: {reason}",
                    spoke=spoke,
                    region=cur.spokes[spoke].region if spoke in cur.spokes else "",
                    revision=bad,
                    reason=reason,
                    state=good,
                )
            )
    return out


def _rejection_changes(prev: Snapshot, cur: Snapshot, rejected: frozenset[str]) -> list[Event]:
    """Revisions a spoke or the hub itself rejected, each announced once (`rejected`: already announced)."""
    out: list[Event] = []
    for revision, (who, reason) in sorted(cur.rejected.items()):
        if revision not in rejected and revision not in prev.rejected:
            by = "the hub (its fleet does not load)" if who == "hub" else f"spoke {who}"
            out.append(
                Event(
                    "revision-rejected",
                    f"revision {revision[:12]} rejected by {by}: {reason}",
                    spoke="" if who == "hub" else who,
                    revision=revision,
                    reason=reason,
                )
            )
    return out
