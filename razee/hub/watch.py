"""One place that looks at the fleet: a cached snapshot for /metrics, and a thread that turns changes into events.

The thread wakes after reports arrive (coalesced: a burst of reports costs one look) and on a timer, because a
spoke goes stale by saying nothing. It runs beside the API, so looking never delays a report's ingestion.

With a journal (razee/hub/journal.py) the baseline and the events live in the database, and only the replica that
holds the notifier's lock (razee/hub/leader.py) looks for transitions; a replica that takes over starts from the
stored baseline. Without one, the state at the start is the baseline and nothing is kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from razee.hub.journal import Fenced, Journal
from razee.hub.leader import Leadership
from razee.hub.periodic import Periodic
from razee.hub.store import Store
from razee.hub.transitions import Event, Snapshot, Transitions, take_snapshot

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
"""A scrape within this many seconds of the last look reuses it: 60 spokes and 15,000 clusters stay cheap."""
COALESCE_SECONDS = 1.0
"""After a report, wait this long for more before looking: one look per burst, not one per report. A look at 60
spokes costs tens of milliseconds of the hub's CPU (scripts/bench/hub_metrics.py), so under a stream of reports
the watcher takes at most about one a second."""


class FleetWatch:
    def __init__(
        self,
        store: Store,
        every: float = 5.0,
        max_age: float = CACHE_SECONDS,
        journal: Journal | None = None,
        leadership: Leadership | None = None,
    ) -> None:
        self.store = store
        self.journal = journal
        self.leadership = leadership
        self.every = every
        self.max_age = max_age
        self.listeners: list[Callable[[Sequence[Event]], None]] = []
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._transitions: Transitions | None = None
        self._loop = Periodic("razee-hub-watch", self._step, every, coalesce=COALESCE_SECONDS, on_stop=self._release)

    def current(self) -> Snapshot:
        """The latest snapshot, taken now if the cached one is older than `max_age`."""
        with self._lock:
            if self._snapshot is None or time.time() - self._snapshot.taken > self.max_age:
                self._snapshot = take_snapshot(self.store)
            return self._snapshot

    def _fresh(self) -> Snapshot:
        snap = take_snapshot(self.store)
        with self._lock:
            self._snapshot = snap
        return snap

    def subscribe(self, listener: Callable[[Sequence[Event]], None]) -> None:
        self.listeners.append(listener)

    def nudge(self) -> None:
        """A report was stored: look soon (never blocks the caller)."""
        self._loop.nudge()

    def start(self) -> None:
        self._loop.start()

    def close(self) -> None:
        self._loop.close()

    def _release(self) -> None:
        if self.leadership is not None:
            self.leadership.release()

    def _step(self) -> None:
        try:
            self._transitions = self._look(self._transitions)
        except Fenced as e:
            log.warning("another replica announces the fleet's events now (%s)", e)
            self._transitions = None
            self._release()
        except Exception:  # the next look starts from what is stored (the loop logs it)
            self._transitions = None
            raise

    def _look(self, transitions: Transitions | None) -> Transitions | None:
        """One look: the events since the baseline, stored with the new baseline, then handed to listeners."""
        if self.leadership is not None and not self.leadership.check():
            return None
        snap = self._fresh()
        if transitions is None:
            transitions = self.journal.load() if self.journal is not None else None
            if transitions is None:  # no baseline yet: the state now is it, and announces nothing
                transitions = Transitions(snap)
                if self.journal is not None:
                    self.journal.record(transitions, [])
                return transitions
        events = transitions.advance(snap)
        if self.journal is not None:
            self.journal.record(transitions, events)
        for listener in self.listeners if events else ():
            listener(events)
        return transitions
