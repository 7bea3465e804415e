"""Delivering reports from the outbox to the hub, in order, with exponential backoff while every hub is down.

With several hub URLs, each report goes to the hub that worked last; a network error, timeout, 5xx, 408 or 429
moves it to the next (razee/hubclient/), and the backoff starts only when all of them failed. A report the hub
refuses (another 4xx: invalid, too large, wrong token) will be refused again on every retry and by every replica,
so it is recorded in the outbox's `rejected` table, logged with the hub's reason, and dropped: one bad report
never blocks the ones behind it. A report stored before (an answer lost on the way, then sent again, perhaps to
another replica) is acknowledged as delivered: the hub stores a report id once.

A report every hub answers with a server error (500: it reached the hub, which could not store it) is retried
with the backoff, but not for ever: after SET_ASIDE_AFTER such answers it is set aside like a refused one, with
the reason "set aside after N server errors", so the reports behind it are delivered (issue 24). Only the hub's
own failures count: no answer at all (hub unreachable, timeout), 502/503/504 (a proxy whose hub is down, or a
hub that is unavailable) and 429 (a busy hub) say nothing about the report, and a hub that is down for a day
loses nothing. A 429 or 503 with Retry-After is retried after that long (at most RETRY_AFTER_CAP), not sooner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from razee.agent.outbox import Outbox
from razee.backoff import DELIVERY, Retry
from razee.hubclient import HubClient, HubUnavailable

log = logging.getLogger(__name__)
REPORTS_PATH = "/api/v1/reports"
SET_ASIDE_AFTER = 8
"""Server errors after which a report is set aside. With the backoff (razee.backoff.DELIVERY: 1 s doubling,
jittered +/-25%), 8 tries span about 1.5 to 2.5 minutes (and survive an agent restart: the count is in the
outbox), long enough for a hub's passing fault, short enough that the reports behind a report the hub cannot
store wait minutes, not for ever."""
NOT_COUNTED = frozenset({502, 503, 504})
"""Server errors that say the hub is down or unavailable, not that it cannot store this report: never counted."""
RETRY_AFTER_CAP = 300.0
"""The longest a hub's Retry-After makes the agent wait (the backoff's own cap): a wrong header cannot stall it."""


class Delivery:
    def __init__(
        self, outbox: Outbox, hub: str | Sequence[str] | None, token: str | None, timeout: float = 10.0
    ) -> None:
        """`hub`: one URL, several comma-separated, or a sequence of them; None delivers nothing."""
        self.outbox = outbox
        self.hubs = HubClient.of(hub, token, timeout)
        """The hubs, shared with the rollout question (razee/agent/rollout.py): it asks the one that took the last
        report first."""
        self.retry = Retry(DELIVERY)
        self.backoff = 0.0  # the wait before the next try, while every hub fails
        self.next_try = 0.0

    def flush(self) -> int:
        """Send what is queued, oldest first, stopping when every hub failed. Returns how many went."""
        if self.hubs is None or time.monotonic() < self.next_try:
            return 0
        sent = 0
        with self.hubs.session() as hub:
            for item in self.outbox.pending():
                try:
                    resp = hub.send("POST", REPORTS_PATH, json=item.body)
                except HubUnavailable as e:
                    if not self._failed(item.seq, item.id, e):
                        return sent
                    continue  # set aside: the reports behind it go now
                if resp.status_code in (200, 201, 204, 409):  # 200 or 409: the hub already has this report id
                    self.outbox.delivered(item.seq)
                    sent += 1
                    continue
                if 400 <= resp.status_code < 500:
                    reason = self.hubs.reason(resp, limit=500)
                    self.outbox.reject(item.seq, f"HTTP {resp.status_code}: {reason}")
                    log.error(
                        "the hub refused report %s (HTTP %d: %s); recorded and dropped",
                        item.id,
                        resp.status_code,
                        reason,
                    )
                    continue
                self.outbox.failed(item.seq, f"HTTP {resp.status_code}")  # a redirect: a proxy in the way
                self._retry_later(f"HTTP {resp.status_code}")
                return sent
        self.retry.succeeded()
        self.backoff = 0.0
        return sent

    def _failed(self, seq: int, report_id: str, e: HubUnavailable) -> bool:
        """Record why no hub took the report; True when it was set aside (the next report may go at once)."""
        error = e.detail[:1000]
        counted = bool(e.statuses) and all(s is not None and s >= 500 and s not in NOT_COUNTED for s in e.statuses)
        errors = self.outbox.failed(seq, error, server_error=counted)
        if counted and errors >= SET_ASIDE_AFTER:
            self.outbox.reject(seq, f"set aside after {errors} server errors (last: {error})")
            log.error(
                "the hub failed to store report %s %d times (%s); set aside, recorded with the refused ones",
                report_id,
                errors,
                error,
            )
            return True
        if e.retry_after is not None and not counted:  # busy or unavailable: it said when to come back
            wait = min(e.retry_after, RETRY_AFTER_CAP)
            self.next_try = time.monotonic() + wait
            log.warning(
                "the hub asked to retry later (%s); %d report(s) queued, retrying in %.0fs",
                error,
                len(self.outbox),
                wait,
            )
            return False
        self._retry_later(error)
        return False

    def _retry_later(self, error: str) -> None:
        self.backoff = self.retry.failed()
        self.next_try = time.monotonic() + self.backoff
        log.warning(
            "hub delivery failed (%s); %d report(s) queued, retrying in %.0fs", error, len(self.outbox), self.backoff
        )
