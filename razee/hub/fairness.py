"""Fair ingest: each token has a bounded number of reports in flight, so one agent cannot take the hub for itself.

Found in issue 24: one agent posting 45,000-object reports six at a time kept SQLite's writer (and the CPU that
parses reports) so busy that every other spoke's reports waited seconds. An agent needs one report in flight (its
outbox delivers in order); a second covers a retry racing its lost answer. Past that, a report is refused before
its body is read, with 429 and Retry-After, which razee's agent honours without counting it as a failure
(razee/agent/delivery.py). The cap is per hub process: behind a Service with several replicas, a token gets this
many per replica.

Every limit is here, with its reason, as razee/hub/locks.py keeps every lock key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import HTTPException

REPORTS_IN_FLIGHT = 2
"""Reports one token may have in flight at once on one hub process (reading, parsing and storing)."""
RETRY_AFTER = 2
"""Seconds a refused agent is told to wait (Retry-After): about what a 4 MB report takes to store on a busy hub, so
the retry finds a free slot, and short enough that an agent with a backlog drains it at the capped rate."""


class Fairness:
    """Counts each token's reports in flight (one event loop: no lock needed between the check and the count)."""

    def __init__(self, per_token: int = REPORTS_IN_FLIGHT, retry_after: int = RETRY_AFTER) -> None:
        self.per_token = per_token
        self.retry_after = retry_after
        self._in_flight: dict[str, int] = {}

    def in_flight(self, token: str) -> int:
        return self._in_flight.get(token, 0)

    @asynccontextmanager
    async def slot(self, token: str) -> AsyncIterator[None]:
        """One of `token`'s slots while the block runs; HTTPException 429 with Retry-After when it has none."""
        held = self._in_flight.get(token, 0)
        if held >= self.per_token:
            raise HTTPException(
                429,
                f"this token already has {held} reports in flight (at most {self.per_token}); "
                f"retry after {self.retry_after} s",
                headers={"Retry-After": str(self.retry_after)},
            )
        self._in_flight[token] = held + 1
        try:
            yield
        finally:
            left = self._in_flight[token] - 1
            if left:
                self._in_flight[token] = left
            else:
                del self._in_flight[token]  # bounded by the tokens in flight, not by every token ever seen
