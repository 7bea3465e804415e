"""Delivering reports from the outbox to the hub, in order, with exponential backoff while the hub is down.

A report the hub refuses (a 4xx other than 408/429: invalid, too large, wrong token) will be refused again on every
retry, so it is recorded in the outbox's `rejected` table, logged with the hub's reason, and dropped: one bad
report never blocks the ones behind it. A 5xx, a 408/429 or a network error is the hub's trouble: retried later.
"""

from __future__ import annotations

import logging
import random
import time

import httpx

from razee.agent.outbox import Outbox

log = logging.getLogger(__name__)
REPORTS_PATH = "/api/v1/reports"
RETRIED_4XX = (408, 429)


class Delivery:
    def __init__(self, outbox: Outbox, hub: str | None, token: str | None, timeout: float = 10.0) -> None:
        self.outbox = outbox
        self.hub = hub.rstrip("/") if hub else None
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout
        self.backoff = 0.0
        self.next_try = 0.0

    def flush(self) -> int:
        """Send what is queued, oldest first, stopping at the first retriable failure. Returns how many went."""
        if self.hub is None or time.monotonic() < self.next_try:
            return 0
        sent = 0
        with httpx.Client(timeout=self.timeout) as http:
            for item in self.outbox.pending():
                try:
                    resp = http.post(self.hub + REPORTS_PATH, json=item.body, headers=self.headers)
                    status, error = resp.status_code, f"HTTP {resp.status_code}"
                except httpx.HTTPError as e:
                    status, error = 0, type(e).__name__
                if status in (200, 201, 204, 409):  # 409: the hub already has this report id
                    self.outbox.delivered(item.seq)
                    sent += 1
                    continue
                if 400 <= status < 500 and status not in RETRIED_4XX:
                    reason = resp.text[:500]
                    self.outbox.reject(item.seq, f"{error}: {reason}")
                    log.error("the hub refused report %s (%s: %s); recorded and dropped", item.id, error, reason)
                    continue
                self.outbox.failed(item.seq, error)
                self.backoff = min(max(1.0, self.backoff * 2), 300.0)
                self.next_try = time.monotonic() + self.backoff * (0.5 + random.random() / 2)
                log.warning("hub delivery failed (%s); %d report(s) queued, retrying in %.0fs", error,
                            len(self.outbox), self.backoff)
                return sent
        self.backoff = 0.0
        return sent
