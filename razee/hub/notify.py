"""Delivering fleet events to webhooks: generic JSON, or Slack's incoming-webhook format.

Events come from the database (razee/hub/journal.py), where the notifying replica's watcher puts them: with
several hub replicas only the one holding the notifier's lock (razee/hub/leader.py) delivers, and a replica that
takes over resumes each receiver where the last one stopped. Each receiver has its own thread, so a slow or
hanging receiver delays only itself, never report ingestion and never another receiver. A failed delivery (network
error, timeout, 5xx, 408, 429) is retried with exponential backoff and jitter; any other 4xx is the receiver
refusing the payload, and is dropped and logged. A webhook URL can itself be a secret (Slack's is): logs and
errors name only its scheme and host, and the database knows it by a hash.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from razee import __version__
from razee.backoff import NOTIFY, Backoff
from razee.errors import UsageError
from razee.hub.journal import Journal
from razee.hub.leader import Leadership
from razee.hub.periodic import Periodic
from razee.hub.transitions import Event

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1000
"""Events waiting per receiver; beyond it the oldest are skipped (and counted as dropped): a receiver that was
down for long gets the recent events, not an hour of history."""
ICONS = {
    "rollout-halted": ":rotating_light:",
    "rollout-resumed": ":arrow_forward:",
    "rollout-completed": ":white_check_mark:",
    "spoke-stale": ":warning:",
    "spoke-back": ":ok:",
    "drift-appeared": ":warning:",
    "drift-cleared": ":ok:",
    "revision-rejected": ":no_entry:",
    "rollout-rolled-back": ":leftwards_arrow_with_hook:",
}


@dataclass(frozen=True)
class Target:
    url: str
    slack: bool

    @property
    def shown(self) -> str:
        """The URL as logs may show it: a webhook's path and query are its secret."""
        parts = urlsplit(self.url)
        return f"{'slack+' if self.slack else ''}{parts.scheme}://{parts.hostname or ''}" + (
            f":{parts.port}" if parts.port else ""
        )

    def payload(self, event: Event) -> dict[str, Any]:
        if self.slack:
            # Slack reads <...> as links and mentions: a reason quoting an error must stay plain text
            text = event.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            return {"text": f"{ICONS.get(event.kind, '')} razee: {text}".strip()}
        return {"source": "razee-hub", **event.as_json()}


def parse_target(url: str) -> Target:
    """`slack+https://…` or any https://hooks.slack.com/… URL gets Slack's format; other http(s) URLs JSON."""
    slack = url.startswith("slack+")
    plain = url[len("slack+") :] if slack else url
    parts = urlsplit(plain)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        scheme = url.split("://", 1)[0] if "://" in url else "(none)"
        raise UsageError(f"--notify: expected an http(s):// or slack+https:// URL, got scheme {scheme}")
    if parts.username or parts.password:
        raise UsageError("--notify: a URL with user:password is not accepted; use a webhook URL with its token")
    return Target(plain, slack or parts.hostname == "hooks.slack.com")


@dataclass
class Delivery:
    """Retry settings: attempts in all, the waits between them (razee/backoff.py), and a request's timeout."""

    attempts: int = 8
    backoff: Backoff = NOTIFY
    timeout: float = 10.0


class Notifier:
    def __init__(
        self, targets: Sequence[Target], journal: Journal, leadership: Leadership, delivery: Delivery | None = None
    ) -> None:
        self.targets = list(targets)
        self.journal = journal
        self.leadership = leadership
        self.delivery = delivery or Delivery()
        self.stop = threading.Event()
        self.counts: dict[str, int] = {"sent": 0, "retried": 0, "failed": 0, "dropped": 0}
        self.waiting = [0 for _ in self.targets]
        self._count_lock = threading.Lock()
        headers = {"User-Agent": f"razee-hub/{__version__}"}
        self._clients = [
            httpx.Client(timeout=self.delivery.timeout, headers=headers, follow_redirects=False) for _ in self.targets
        ]
        self.loops = [
            Periodic(f"razee-hub-notify-{i}", functools.partial(self._deliver_all, i), every=1.0, first_wait=True)
            for i in range(len(self.targets))
        ]

    def start(self) -> None:
        for t in self.targets:  # a receiver new to this database starts now, without the history
            self.journal.start_cursor(t.url)
        for loop in self.loops:
            loop.start()

    def close(self) -> None:
        self.stop.set()  # ends a retry's wait at once
        for loop in self.loops:
            loop.close(timeout=2)
        for client in self._clients:
            client.close()

    def queued(self) -> int:
        return sum(self.waiting)

    def send(self, events: Sequence[Event]) -> None:
        """Events were stored by the watcher: wake the deliveries (never waits for one)."""
        for event in events:
            log.info("event %s: %s", event.kind, event.text)
        for loop in self.loops:
            loop.nudge()

    def _count(self, outcome: str, n: int = 1) -> None:
        with self._count_lock:
            self.counts[outcome] += n

    def _deliver_all(self, index: int) -> None:
        """One turn of a receiver's loop (the database may be away for a moment: the next turn tries again)."""
        if not self.leadership.held:
            self.waiting[index] = 0
            return
        try:
            self._deliver_pending(self._clients[index], index, self.targets[index])
        except Exception:  # named by its receiver's shown URL, never the URL itself
            log.exception("delivering notifications to %s failed", self.targets[index].shown)

    def _deliver_pending(self, client: httpx.Client, index: int, target: Target) -> None:
        while not self.stop.is_set() and self.leadership.held:
            batch, waiting = self.journal.pending(target.url)
            if waiting > QUEUE_LIMIT:
                self.journal.skip(target.url, QUEUE_LIMIT)
                self._count("dropped", waiting - QUEUE_LIMIT)
                log.warning("%d notifications for %s waited too long: skipped", waiting - QUEUE_LIMIT, target.shown)
                continue
            self.waiting[index] = waiting
            if not batch:
                return
            for seq, event in batch:
                if self.stop.is_set() or not self.leadership.held:
                    return
                if not self._deliver(client, target, event):
                    return  # stopping mid-retry: the event stays pending for whoever delivers next
                self.journal.advance(target.url, seq)
                self.waiting[index] = max(0, self.waiting[index] - 1)

    def _deliver(self, client: httpx.Client, target: Target, event: Event) -> bool:
        """Send one event, retrying; False only when the hub stops before it is sent or given up."""
        d = self.delivery
        for attempt in range(1, d.attempts + 1):
            why = ""
            try:
                r = client.post(target.url, json=target.payload(event))
                if r.status_code < 300:
                    self._count("sent")
                    return True
                if 400 <= r.status_code < 500 and r.status_code not in (408, 429):
                    self._count("failed")
                    log.warning("%s refused the %s notification: HTTP %d", target.shown, event.kind, r.status_code)
                    return True
                why = f"HTTP {r.status_code}"
            except httpx.HTTPError as e:
                why = type(e).__name__  # never str(e): it can carry the URL
            if attempt == d.attempts:
                break
            self._count("retried")
            wait = d.backoff.delay(attempt)
            log.info("notifying %s of %s failed (%s); retry %d in %.1fs", target.shown, event.kind, why, attempt, wait)
            if self.stop.wait(wait):
                return False
        self._count("failed")
        log.warning("gave up notifying %s of %s after %d attempts", target.shown, event.kind, d.attempts)
        return True
