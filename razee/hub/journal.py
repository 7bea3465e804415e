"""What the notifying replica keeps in the database, so another replica can take over without losing or repeating.

- The baseline: the last snapshot the watcher compared, and the revisions already announced complete or rejected.
  A new notifier starts from it, so a transition that happened while no replica was looking is still announced,
  and one that was announced is not announced again.
- The events found, each in the same transaction as the baseline that follows from it: an event is found exactly
  once across replicas.
- Per receiver, the last event handed to it: a new notifier resumes there. An event delivered just before the
  notifier died, whose cursor was not moved yet, is sent again with the same id (at least once; a receiver can drop
  the duplicate by id).

The baseline carries a version, checked and moved in each write: a replica that lost its leadership without
noticing yet cannot overwrite the new leader's baseline (its write is refused and it stops announcing).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from razee.hub.schema import Notification, NotifyCursor, RolloutControl
from razee.hub.store import Store
from razee.hub.transitions import Event, Snapshot, SpokeView, Transitions
from razee.hub.upsert import upsert

BASELINE = "notify-baseline"
KEEP_SECONDS = 7 * 86_400.0
"""Events older than a week are deleted, delivered or not: a receiver down that long wants a fresh start."""


class Fenced(Exception):
    """Another replica wrote the baseline since this one read it: this one is no longer the notifier."""


def target_key(url: str) -> str:
    """A receiver's name in the database: a hash, since a webhook URL is itself a secret."""
    return hashlib.sha256(url.encode()).hexdigest()[:64]


def _snapshot_json(snap: Snapshot) -> dict[str, Any]:
    return {
        "taken": snap.taken,
        "spokes": {k: asdict(v) for k, v in snap.spokes.items()},
        "revision": snap.revision,
        "halted": snap.halted,
        "complete": snap.complete,
        "paused": snap.paused,
        "rejected": {k: list(v) for k, v in snap.rejected.items()},
        "objects": snap.objects,
        "rollbacks": [[*k, *v] for k, v in sorted(snap.rollbacks.items())],
    }


def _snapshot(doc: dict[str, Any]) -> Snapshot:
    return Snapshot(
        float(doc["taken"]),
        {k: SpokeView(**v) for k, v in doc["spokes"].items()},
        doc["revision"],
        doc["halted"],
        bool(doc["complete"]),
        bool(doc["paused"]),
        {k: (v[0], v[1]) for k, v in doc["rejected"].items()},
        dict(doc["objects"]),
        {(r[0], r[1]): (r[2], r[3]) for r in doc.get("rollbacks", [])},
    )


def _transitions_json(t: Transitions) -> dict[str, Any]:
    return {"last": _snapshot_json(t.last), "completed": t.completed, "rejected": t.rejected}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal but for the time the snapshot was taken: nothing worth a write."""
    return (
        {**a["last"], "taken": 0} == {**b["last"], "taken": 0}
        and a["completed"] == b["completed"]
        and a["rejected"] == b["rejected"]
    )


class Journal:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.version = -1
        self._written: dict[str, Any] | None = None

    def load(self) -> Transitions | None:
        """The stored baseline (and its version, for the next write); None when no notifier ever wrote one."""
        with self.store.session() as s:
            row = s.get(RolloutControl, BASELINE)
            if row is None:
                self.version, self._written = 0, None
                return None
            doc = json.loads(row.value)
        self.version, self._written = int(doc["version"]), doc["transitions"]
        t = Transitions(_snapshot(doc["transitions"]["last"]))
        t.completed, t.rejected = list(doc["transitions"]["completed"]), list(doc["transitions"]["rejected"])
        return t

    def record(self, transitions: Transitions, events: list[Event]) -> None:
        """The new baseline and the events that led to it, in one transaction; Fenced if another replica wrote."""
        state = _transitions_json(transitions)
        if not events and self._written is not None and _same(state, self._written):
            return
        try:
            with self.store.session() as s:
                row = s.get(RolloutControl, BASELINE, with_for_update=True)
                stored = int(json.loads(row.value)["version"]) if row is not None else 0
                if stored != self.version:
                    raise Fenced(f"the baseline is at version {stored}, this replica read {self.version}")
                value = json.dumps({"version": self.version + 1, "transitions": state})
                if row is None:
                    s.add(RolloutControl(name=BASELINE, value=value))
                else:
                    row.value = value
                s.add_all([Notification(id=e.id, at=e.time, event=json.dumps(e.as_json())) for e in events])
                if events:
                    s.execute(delete(Notification).where(Notification.at < time.time() - KEEP_SECONDS))
        except IntegrityError:
            raise Fenced("another replica wrote the first baseline") from None
        self.version, self._written = self.version + 1, state

    def start_cursor(self, url: str) -> None:
        """A receiver new to this database starts after the newest event: it is not sent the history."""
        with self.store.session() as s:
            newest = s.execute(select(func.max(Notification.seq))).scalar() or 0
            s.execute(upsert(s, NotifyCursor, {"target": target_key(url), "seq": newest}, ["target"], []))

    def pending(self, url: str, limit: int = 100) -> tuple[list[tuple[int, Event]], int]:
        """The next events for a receiver, oldest first, and how many wait in all."""
        key = target_key(url)
        with self.store.session() as s:
            cursor = s.get(NotifyCursor, key)
            after = cursor.seq if cursor is not None else 0
            waiting = s.execute(select(func.count()).where(Notification.seq > after)).scalar() or 0
            rows = s.execute(
                select(Notification.seq, Notification.event)
                .where(Notification.seq > after)
                .order_by(Notification.seq)
                .limit(limit)
            ).all()
        return [(seq, Event.from_json(json.loads(doc))) for seq, doc in rows], int(waiting)

    def skip(self, url: str, keep: int) -> None:
        """Move a receiver's cursor so that only the newest `keep` events wait for it."""
        with self.store.session() as s:
            seq = s.execute(select(Notification.seq).order_by(Notification.seq.desc()).offset(keep).limit(1)).scalar()
        if seq is not None:
            self.advance(url, seq)

    def advance(self, url: str, seq: int) -> None:
        with self.store.session() as s:
            s.execute(upsert(s, NotifyCursor, {"target": target_key(url), "seq": seq}, ["target"], ["seq"]))
