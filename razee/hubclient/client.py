"""One client for a hub's API: several URLs with failover, the Bearer token, timeouts and one error mapping.

Every request goes to the hub that answered last, and moves to the next URL on that hub's trouble: a network
error, a timeout, a 5xx, 408 or 429; the next requests stick to the hub that worked until it fails in turn. Any
other answer, a 4xx refusal included, is the hub's word on the request: another replica on the same database would
say the same, so it is returned, not failed over. Only when every hub failed does the request raise
HubUnavailable, which keeps each hub's status and the longest Retry-After, for the caller's backoff.

`send` returns the answer as it is (the agent's delivery decides by status itself); `call` turns an answer that
is not a success into the razee error for its status (razee/hubclient/errors.py). The token is sent in the
Authorization header only: it is in no URL, no message and no log line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from razee.errors import RazeeError
from razee.hubclient.errors import DETAIL_CHARS, HubError, HubUnavailable, answer_detail, error_for
from razee.hubclient.urls import hubs_from, shown

log = logging.getLogger(__name__)

TIMEOUT = 15.0
"""Seconds a request to one hub may take (connecting, or waiting for the answer) before the next is tried."""
FAILOVER_4XX = (408, 429)


def fails_over(status: int) -> bool:
    """An answer that is the hub's trouble, not its word on the request: the next hub is tried."""
    return status >= 500 or status in FAILOVER_4XX


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


class HubClient:
    """An ordered list of hub URLs, the one that worked last (thread-safe), the token and the timeout.

    `credential` names the token in errors ("token", "admin token")."""

    def __init__(
        self, urls: Sequence[str], token: str | None = None, timeout: float = TIMEOUT, credential: str = "token"
    ) -> None:
        if not urls:
            raise ValueError("at least one hub URL is needed")
        self.urls = tuple(u.rstrip("/") for u in urls)
        self._token = token
        self.timeout = timeout
        self.credential = credential
        self._current = 0
        self._lock = threading.Lock()

    @classmethod
    def of(
        cls,
        hub: str | Sequence[str] | None,
        token: str | None = None,
        timeout: float = TIMEOUT,
        credential: str = "token",
    ) -> HubClient | None:
        """A client for settings' form of hubs (None, one URL, "URL,URL" or a sequence); None for no hub."""
        urls = hubs_from(hub)
        return cls(urls, token, timeout, credential) if urls else None

    @property
    def current(self) -> str:
        with self._lock:
            return self.urls[self._current]

    def __str__(self) -> str:
        return ", ".join(shown(u) for u in self.urls)

    def __repr__(self) -> str:  # never the token
        return f"HubClient({self})"

    @contextmanager
    def session(self) -> Iterator[HubSession]:
        """Several requests over one connection pool (a flush of the outbox); closed when the block ends."""
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as http:
            yield HubSession(self, http)

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, failed over; the answer as it is. See HubSession.send."""
        with self.session() as s:
            return s.send(method, path, **kwargs)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, failed over; an answer that is not a success raises its razee error. See HubSession.call."""
        with self.session() as s:
            return s.call(method, path, **kwargs)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """GET `path` and the JSON it answers; every failure is a razee error."""
        return json_of(self.call("GET", path, params=params, **kwargs), path)

    def reason(self, resp: httpx.Response, limit: int = DETAIL_CHARS) -> str:
        """The hub's reason in an answer, short, without the token (razee/hubclient/errors.py answer_detail)."""
        return answer_detail(resp, self._token, limit)

    def _send(
        self, http: httpx.Client, method: str, path: str, params: Mapping[str, Any] | None, json: Any, token: str | None
    ) -> httpx.Response:
        secret = token or self._token
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        with self._lock:
            start = self._current
        failures: list[str] = []
        statuses: list[int | None] = []
        wait: float | None = None
        for step in range(len(self.urls)):
            index = (start + step) % len(self.urls)
            url = self.urls[index]
            try:
                resp = http.request(method, url + path, params=query, json=json, headers=headers)
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
                log.warning(
                    "hub %s failed (%s); using %s from now on", shown(self.urls[start]), failures[0], shown(url)
                )
            return resp
        raise HubUnavailable("; ".join(failures), statuses, wait)

    def _error(self, resp: httpx.Response, what: str, hint: str, token: str | None) -> RazeeError:
        credential = "token" if token else self.credential
        return error_for(resp, what, credential, hint, token or self._token)


class HubSession:
    """A HubClient's requests over one open httpx.Client."""

    def __init__(self, client: HubClient, http: httpx.Client) -> None:
        self.client = client
        self.http = http

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        token: str | None = None,
    ) -> httpx.Response:
        """The first answer that is not a hub's trouble, from the current hub onwards; HubUnavailable if none.
        `token` replaces the client's for this request (asking about another token); None values in `params`
        are left out."""
        return self.client._send(self.http, method, path, params, json, token)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        token: str | None = None,
        accept: Sequence[int] = (),
        what: str | None = None,
        hint: str = "",
    ) -> httpx.Response:
        """`send`, then the razee error for an answer that is not a 2xx and not in `accept` (a status the
        caller reads itself). `what` names the request in messages (default: the path), `hint` is added to a
        refused token's."""
        resp = self.send(method, path, params=params, json=json, token=token)
        if 200 <= resp.status_code < 300 or resp.status_code in accept:
            return resp
        raise self.client._error(resp, what or path, hint, token)


def json_of(resp: httpx.Response, what: str) -> Any:
    """The answer's JSON; a HubError (exit 4) when it is not JSON (a proxy's page in the hub's place)."""
    try:
        return resp.json()
    except ValueError:
        raise HubError(resp.status_code, f"the hub's answer for {what} is not JSON") from None
