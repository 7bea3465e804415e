"""The hub's background loops, written once: a thread that runs a step on a timer, or soon after a nudge.

The repo follower (razee/hub/follow.py), the fleet watcher (razee/hub/watch.py) and each webhook receiver's
delivery (razee/hub/notify.py) are such loops. A step that fails is logged and tried again at the next turn: a
database or git server away for a moment must never end a loop, since the hub would then go on serving while
silently no longer following, watching or notifying.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs `step` at once, then every `every` seconds, or `coalesce` seconds after a `nudge` (one step for a
    burst of nudges); `on_stop` runs in the thread once it has stopped."""

    def __init__(
        self,
        name: str,
        step: Callable[[], None],
        every: float,
        coalesce: float = 0.0,
        on_stop: Callable[[], None] | None = None,
        first_wait: bool = False,
    ) -> None:
        self.name = name
        self.step = step
        self.every = every
        self.coalesce = coalesce
        self.on_stop = on_stop
        self.first_wait = first_wait
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def nudge(self) -> None:
        """Run the step soon (never blocks the caller)."""
        self._wake.set()

    def close(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def _wait(self) -> None:
        self._wake.wait(self.every)
        if self._wake.is_set() and self.coalesce and not self.stopping.is_set():
            self.stopping.wait(self.coalesce)
        self._wake.clear()

    def _run(self) -> None:
        if self.first_wait:
            self._wait()
        while not self.stopping.is_set():
            try:
                self.step()
            except Exception:  # logged, and the next turn tries again (see the module's docstring)
                log.exception("%s failed", self.name)
            self._wait()
        if self.on_stop is not None:
            self.on_stop()
