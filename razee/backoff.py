"""Exponential backoff with jitter, written once, and every retry loop's numbers named in one place.

Each loop that retries (the agent's deliveries and failed passes, the watch cache, the hub's webhooks, the
infrastructure executor, ...) takes a `Backoff` from the settings below instead of spelling out its own doubling
and jitter. Jitter spreads the retries of many agents or threads that failed together, so that they do not come
back in step and fail together again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Waits of `first`, `first * factor`, ... up to `cap` seconds, each spread by +/- `jitter` (a fraction)."""

    first: float
    cap: float
    factor: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not (0 < self.first <= self.cap and self.factor >= 1 and 0 <= self.jitter < 1):
            raise ValueError(f"invalid backoff {self}")

    def base(self, attempt: int) -> float:
        """The wait after the `attempt`-th failure (1-based), before jitter."""
        if attempt < 1:
            raise ValueError("attempts count from 1")
        # the exponent is bounded so that a long outage never overflows a float before the cap applies
        return min(self.cap, self.first * self.factor ** min(attempt - 1, 64))

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """The wait after the `attempt`-th failure, with jitter (never more than cap plus its jitter)."""
        return self.base(attempt) * (1.0 - self.jitter + 2.0 * self.jitter * rand())


class Retry:
    """A loop's failures in a row: `failed()` gives the next wait, `succeeded()` starts over."""

    def __init__(self, backoff: Backoff, rand: Callable[[], float] = random.random) -> None:
        self.backoff = backoff
        self.rand = rand
        self.failures = 0

    def failed(self) -> float:
        self.failures += 1
        return self.backoff.delay(self.failures, self.rand)

    def succeeded(self) -> None:
        self.failures = 0


# -- the settings: each retry loop's numbers, and why ------------------------------------------------------------
NOTIFY = Backoff(first=1.0, cap=60.0)
"""A webhook receiver that failed (network, 5xx, 408, 429): from 1 s up to a minute, 8 attempts in all
(razee/hub/notify.py), about 2 minutes before an event is given up."""
INFRA = Backoff(first=0.2, cap=30.0, jitter=0.5)
"""A transient provider error (throttling, 5xx): cloud APIs throttle in bursts, so the spread is wide; the
executor's `attempts` bounds the tries (razee/infra/executor.py)."""
DELIVERY = Backoff(first=1.0, cap=300.0, jitter=0.25)
"""The agent's reports while every hub fails: from 1 s up to 5 minutes, so a fleet of agents whose hub comes back
does not arrive at once (razee/agent/delivery.py; a hub's Retry-After takes its place when it gives one)."""
WATCH = Backoff(first=0.5, cap=30.0)
"""A watch or LIST of a scope the server keeps failing, or a server that ends every watch at once: from half a
second up to 30 s between attempts (razee/kube/watchcache.py), so a struggling apiserver is not hammered."""
RECONNECT = Backoff(first=0.1, cap=0.2, jitter=0.0)
"""A request on a pooled connection the server had closed: tried again at once, twice (razee/kube/client.py);
every verb razee sends is idempotent. A silent server is never retried (its timeout already waited)."""
INGEST_RACE = Backoff(first=0.01, cap=0.04, jitter=0.5)
"""Two replicas storing a spoke's first report at the same moment: the loser retries within milliseconds
(razee/hub/store.py), spread so that the two do not collide again."""
FAILED_PASS_FIRST = 1.0
"""Seconds before an agent's failed pass is tried again; doubling after each failure in a row up to the pass
interval itself (`failed_pass(interval)`, razee/agent/core.py)."""
FAILED_PASS_FLOOR = 0.001
"""The shortest cap of that backoff: an interval of 0 (passes back to back) leaves nothing to back off within, and
a Backoff needs a wait above 0."""


def failed_pass(interval: float) -> Backoff:
    """The agent's retry of failed passes: from FAILED_PASS_FIRST (or the interval, if shorter) up to the interval,
    without jitter (the interval itself is jittered). A retry never waits longer than a pass would anyway."""
    cap = max(interval, FAILED_PASS_FLOOR)
    return Backoff(first=min(FAILED_PASS_FIRST, cap), cap=cap, jitter=0.0)
