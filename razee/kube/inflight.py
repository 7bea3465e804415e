"""Saying what razee waits for when the apiserver is slow to answer, instead of staying silent.

A request that has waited NOTICE_AFTER seconds is named in a warning on stderr (`still waiting for ... to answer
GET /api/v1/...`), then again every REPEAT_EVERY seconds until it is answered or gives up (razee.kube.client's
timeouts bound that). One monitor thread runs only while requests are in flight, so an idle agent holds none.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

NOTICE_AFTER = 3.0
REPEAT_EVERY = 10.0
_TICK = 0.5


@dataclass
class _Request:
    what: str
    started: float
    noticed: float = 0.0


class InFlight:
    """The requests of one connection that wait for an answer."""

    def __init__(self, server: str, gives_up_after: float) -> None:
        self.server = server
        self.gives_up_after = gives_up_after
        self._items: dict[int, _Request] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, what: str) -> int:
        token = next(self._ids)
        with self._lock:
            self._items[token] = _Request(what, time.monotonic())
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="razee-inflight", daemon=True)
                self._thread.start()
        return token

    def done(self, token: int) -> None:
        with self._lock:
            self._items.pop(token, None)

    def _watch(self) -> None:
        while True:
            time.sleep(_TICK)
            now = time.monotonic()
            with self._lock:
                if not self._items:
                    self._thread = None
                    return
                due = [
                    r
                    for r in self._items.values()
                    if now - r.started >= NOTICE_AFTER and now - r.noticed >= REPEAT_EVERY
                ]
                for r in due:
                    r.noticed = now
            if due:
                oldest = min(due, key=lambda r: r.started)
                more = f" (and {len(due) - 1} more request(s))" if len(due) > 1 else ""
                log.warning(
                    "still waiting for %s to answer %s%s: %.0f s so far; razee gives up after %.0f s",
                    self.server,
                    oldest.what,
                    more,
                    now - oldest.started,
                    self.gives_up_after,
                )
