"""One place that looks at the fleet: a cached snapshot for /metrics, and a thread that turns changes into events.

The thread wakes after reports arrive (coalesced: a burst of reports costs one look) and on a timer, because a
spoke goes stale by saying nothing. It runs beside the API, so looking never delays a report's ingestion.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

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
    def __init__(self, store: Store, every: float = 5.0, max_age: float = CACHE_SECONDS) -> None:
        self.store = store
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
                if transitions is None:  # the state at start is the baseline: a restart announces nothing
                    transitions = Transitions(self._fresh())
                else:
                    events = transitions.advance(self._fresh())
                    for listener in self.listeners if events else ():
                        listener(events)
            except Exception:  # the database may be away for a moment; the next look tries again
                log.exception("looking at the fleet failed")
            self._wake.wait(self.every)
            if self._wake.is_set() and not self._stop.is_set():
                self._stop.wait(COALESCE_SECONDS)
            self._wake.clear()
