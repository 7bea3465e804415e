"""Delivering reports from the outbox to the hub, in order, with exponential backoff while every hub is down.

With several hub URLs, each report goes to the hub that worked last; a network error, timeout, 5xx, 408 or 429
moves it to the next (razee/hubs.py), and the backoff starts only when all of them failed. A report the hub
refuses (another 4xx: invalid, too large, wrong token) will be refused again on every retry and by every replica,
so it is recorded in the outbox's `rejected` table, logged with the hub's reason, and dropped: one bad report
never blocks the ones behind it. A report stored before (an answer lost on the way, then sent again, perhaps to
another replica) is acknowledged as delivered: the hub stores a report id once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence

import httpx

from razee.agent.outbox import Outbox
from razee.hubs import Hubs, HubsUnavailable, hubs_from

log = logging.getLogger(__name__)
REPORTS_PATH = "/api/v1/reports"


class Delivery:
    def __init__(self, outbox: Outbox, hub: str | Sequence[str] | None, token: str | None,
                 timeout: float = 10.0) -> None:
        """`hub`: one URL, several comma-separated, or a sequence of them; None delivers nothing."""
        self.outbox = outbox
        urls = hubs_from(hub)
        self.hubs = Hubs(urls) if urls else None
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout
        self.backoff = 0.0
        self.next_try = 0.0

    def flush(self) -> int:
        """Send what is queued, oldest first, stopping when every hub failed. Returns how many went."""
        if self.hubs is None or time.monotonic() < self.next_try:
            return 0
        sent = 0
        with httpx.Client(timeout=self.timeout) as http:
            for item in self.outbox.pending():
                try:
                    resp = self.hubs.request(http, "POST", REPORTS_PATH, json=item.body, headers=self.headers)
                except HubsUnavailable as e:
                    self._retry_later(item.seq, str(e))
                    return sent
                if resp.status_code in (200, 201, 204, 409):  # 200 or 409: the hub already has this report id
                    self.outbox.delivered(item.seq)
                    sent += 1
                    continue
                if 400 <= resp.status_code < 500:
                    reason = resp.text[:500]
                    self.outbox.reject(item.seq, f"HTTP {resp.status_code}: {reason}")
                    log.error("the hub refused report %s (HTTP %d: %s); recorded and dropped", item.id,
                              resp.status_code, reason)
                    continue
                self._retry_later(item.seq, f"HTTP {resp.status_code}")  # a redirect: a proxy in the way
                return sent
        self.backoff = 0.0
        return sent

    def _retry_later(self, seq: int, error: str) -> None:
        self.outbox.failed(seq, error[:1000])
        self.backoff = min(max(1.0, self.backoff * 2), 300.0)
        self.next_try = time.monotonic() + self.backoff * (0.5 + random.random() / 2)
        log.warning("hub delivery failed (%s); %d report(s) queued, retrying in %.0fs", error, len(self.outbox),
                    self.backoff)
