"""Delivering reports from the outbox to the hub, in order, with exponential backoff while the hub is down."""

from __future__ import annotations

import logging
import random
import time

import httpx

from razee.agent.outbox import Outbox

log = logging.getLogger(__name__)
REPORTS_PATH = "/api/v1/reports"


class Delivery:
    def __init__(self, outbox: Outbox, hub: str | None, token: str | None, timeout: float = 10.0) -> None:
        self.outbox = outbox
        self.hub = hub.rstrip("/") if hub else None
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout
        self.backoff = 0.0
        self.next_try = 0.0

    def flush(self) -> int:
        """Send what is queued, oldest first, stopping at the first failure. Returns how many were delivered."""
        if self.hub is None or time.monotonic() < self.next_try:
            return 0
        sent = 0
        with httpx.Client(timeout=self.timeout) as http:
            for item in self.outbox.pending():
                try:
                    resp = http.post(self.hub + REPORTS_PATH, json=item.body, headers=self.headers)
                    ok = resp.status_code in (200, 201, 204, 409)  # 409: the hub already has this report id
                    error = "" if ok else f"HTTP {resp.status_code}"
                except httpx.HTTPError as e:
                    ok, error = False, type(e).__name__
                if not ok:
                    self.outbox.failed(item.seq, error)
                    self.backoff = min(max(1.0, self.backoff * 2), 300.0)
                    self.next_try = time.monotonic() + self.backoff * (0.5 + random.random() / 2)
                    log.warning("hub delivery failed (%s); %d report(s) queued, retrying in %.0fs", error,
                                len(self.outbox), self.backoff)
                    return sent
                self.outbox.delivered(item.seq)
                sent += 1
        self.backoff = 0.0
        return sent
