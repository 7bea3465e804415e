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
    def __init__(self, store: Store, every: float = 5.0, max_age: float = CACHE_SECONDS,
                 journal: Journal | None = None, leadership: Leadership | None = None) -> None:
        self.store = store
        self.journal = journal
        self.leadership = leadership
        self.every = every
        self.max_age = max_age
        self.listeners: list[Callable[[Sequence[Event]], None]] = []
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="razee-hub-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        transitions: Transitions | None = None
        while not self._stop.is_set():
            try:
                transitions = self._look(transitions)
            except Fenced as e:
                log.warning("another replica announces the fleet's events now (%s)", e)
                transitions = None
                if self.leadership is not None:
                    self.leadership.release()
            except Exception:  # the database may be away for a moment; the next look starts from what is stored
                log.exception("looking at the fleet failed")
                transitions = None
            self._wake.wait(self.every)
            if self._wake.is_set() and not self._stop.is_set():
                self._stop.wait(COALESCE_SECONDS)
            self._wake.clear()
        if self.leadership is not None:
            self.leadership.release()

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
