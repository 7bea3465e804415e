"""Several hub URLs: read them from options, and send each request to the first hub that works, sticking to it.

Replicas behind one Service (or load balancer) need one URL. Several URLs are for hubs reached in different ways
(another site, another ingress): a network error, a timeout, a 5xx, 408 or 429 from one is that hub's trouble, so
the request moves to the next URL, and the next requests go there too until it fails in turn. Any other answer,
a 4xx refusal included, is the hub's word on the request: another replica on the same database would say the same,
so it is returned, not failed over. Only when every hub fails does the caller back off.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from razee.errors import UsageError

log = logging.getLogger(__name__)

FAILOVER_4XX = (408, 429)
_USERINFO = re.compile(r"(?<=://)[^/@]*@")


def shown(url: str) -> str:
    """A URL as logs and errors may show it: no user or password."""
    return _USERINFO.sub("***@", url)


def parse_hubs(values: Iterable[str], option: str = "--hub") -> tuple[str, ...]:
    """Hub URLs from repeated and/or comma-separated values, in order, duplicates dropped.

    An empty entry, a scheme other than http(s), a URL without a host or with a bad port is a usage error naming
    the entry (without its credentials); nothing else happens.
    """
    urls: list[str] = []
    for value in values:
        for entry in value.split(","):
            url = entry.strip()
            if not url:
                raise UsageError(f"{option}: an empty URL in the list {shown(value)!r}")
            parts = urlsplit(url)
            try:
                parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
            except ValueError:
                raise UsageError(f"{option}: {shown(url)} has an invalid port") from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UsageError(f"{option}: {shown(url)} is not an http:// or https:// URL with a host")
            url = url.rstrip("/")
            if url not in urls:
                urls.append(url)
    return tuple(urls)


def hubs_from(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Settings' form (None, one URL, "URL,URL" or a sequence) as a tuple of URLs."""
    if value is None:
        return ()
    return parse_hubs([value] if isinstance(value, str) else value)


def fails_over(status: int) -> bool:
    return status >= 500 or status in FAILOVER_4XX


class HubsUnavailable(Exception):
    """Every hub failed this request; the message names each hub (without credentials) and why.

    `statuses` holds each hub's HTTP status, None where it gave no answer (network error, timeout), and
    `retry_after` the longest Retry-After (in seconds) any of them asked for, None if none did: an agent tells the
    hub being down or busy from a report it cannot store (razee/agent/delivery.py)."""

    def __init__(self, message: str, statuses: Sequence[int | None] = (), retry_after: float | None = None) -> None:
        super().__init__(message)
        self.statuses = tuple(statuses)
        self.retry_after = retry_after


def retry_after(resp: httpx.Response) -> float | None:
    """The answer's Retry-After in seconds (delay-seconds form; an HTTP date is read too), None if absent or bad."""
    value = resp.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return max(0.0, seconds) if seconds == seconds else None


class Hubs:
    """An ordered list of hub URLs and the one that worked last (thread-safe)."""

    def __init__(self, urls: Sequence[str]) -> None:
        if not urls:
            raise ValueError("at least one hub URL is needed")
        self.urls = tuple(u.rstrip("/") for u in urls)
        self._current = 0
        self._lock = threading.Lock()

    @property
    def current(self) -> str:
        with self._lock:
            return self.urls[self._current]

    def __str__(self) -> str:
        return ", ".join(shown(u) for u in self.urls)

    def request(self, http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The first answer that is not a hub's trouble, from the current hub onwards; HubsUnavailable if none."""
        with self._lock:
            start = self._current
        failures: list[str] = []
        statuses: list[int | None] = []
        wait: float | None = None
        for step in range(len(self.urls)):
            index = (start + step) % len(self.urls)
            url = self.urls[index]
            try:
                resp = http.request(method, url + path, **kwargs)
            except httpx.HTTPError as e:
                failures.append(f"{shown(url)}: {type(e).__name__}")  # never str(e): it can carry the URL
                statuses.append(None)
                continue
            if fails_over(resp.status_code):
                failures.append(f"{shown(url)}: HTTP {resp.status_code}")
                statuses.append(resp.status_code)
                asked = retry_after(resp)
                if asked is not None:
                    wait = max(wait or 0.0, asked)
                continue
            if index != start:
                with self._lock:
                    self._current = index
                log.warning("hub %s failed (%s); using %s from now on", shown(self.urls[start]), failures[0],
                            shown(url))
            return resp
        raise HubsUnavailable("; ".join(failures), statuses, wait)
