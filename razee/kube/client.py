"""A small, counted HTTP layer over one connection pool (razee.kube.connection).

razee needs only a few verbs (LIST, GET, server-side apply, DELETE) on arbitrary resources. Calling them as raw
REST keeps one code path for built-in and custom resources, avoids the dynamic client's full discovery on start,
and lets every request be counted, which the no-op benchmarks and the agent's metrics report.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
import urllib3

from razee.backoff import RECONNECT
from razee.kube.connection import Connection, connect
from razee.kube.errors import KubeError, Unavailable, from_response
from razee.kube.inflight import InFlight

FIELD_MANAGER = "razee"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 40.0
"""Seconds a request waits for an answer: above the longest admission webhook timeout the server allows (30 s), so
a slow webhook is not mistaken for a dead server. Timeouts are not retried, so a pass gives up on a silent server
within CONNECT_TIMEOUT + READ_TIMEOUT (docs/engine.md)."""
DEFAULT_TIMEOUT = (CONNECT_TIMEOUT, READ_TIMEOUT)
CONNECTION_RETRIES = 2
WRITE_VERBS = frozenset({"APPLY", "DELETE", "CREATE", "UPDATE"})


@dataclass(frozen=True)
class Write:
    """A write request razee made (dry runs excluded), for whoever keeps a copy of live state current.

    `answer` is the server's answer, or None when the request failed, in which case the write may or may not have
    happened (a connection lost mid-request).
    """

    verb: str
    path: str
    body: Any
    answer: Any


WriteObserver = Callable[[Write], None]


@dataclass
class RequestCounter:
    """API requests made, by verb; shared by the threads of one pass."""

    counts: dict[str, int]
    lock: threading.Lock

    @classmethod
    def new(cls) -> RequestCounter:
        return cls({}, threading.Lock())

    def add(self, verb: str) -> None:
        with self.lock:
            self.counts[verb] = self.counts.get(verb, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def writes(self) -> int:
        return sum(n for verb, n in self.counts.items() if verb in ("APPLY", "DELETE", "CREATE", "UPDATE"))


def load_api_client(kubeconfig: str | None, context: str | None, pool_size: int = 16) -> Connection:
    """kubeconfig/context, else in-cluster config, else KUBECONFIG / ~/.kube/config. TLS is verified."""
    return connect(kubeconfig, context, pool_size)


class Kube:
    """Raw, counted REST calls; every failure becomes a named KubeError."""

    def __init__(
        self, connection: Connection, counter: RequestCounter | None = None, owns_connection: bool = True
    ) -> None:
        self.connection = connection
        self.owns_connection = owns_connection
        """False for a connection shared with others (the agent's, kept open between passes): close() keeps it."""
        self.counter = counter or RequestCounter.new()
        self._timeout = urllib3.Timeout(connect=DEFAULT_TIMEOUT[0], read=DEFAULT_TIMEOUT[1])
        self.write_observers: list[WriteObserver] = []
        """Called after every write (APPLY, DELETE, CREATE, UPDATE; never a dry run), from the writing thread."""
        self.in_flight = InFlight(connection.server, CONNECT_TIMEOUT + READ_TIMEOUT)

    @property
    def server(self) -> str:
        return self.connection.server

    def close(self) -> None:
        if self.owns_connection:
            self.connection.close()

    def request(
        self,
        verb: str,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Any:
        if verb not in WRITE_VERBS or not self.write_observers or (query and "dryRun" in query):
            return self._request(verb, method, path, query, body, content_type, accept)
        answer = None
        try:
            answer = self._request(verb, method, path, query, body, content_type, accept)
            return answer
        finally:
            write = Write(verb, path, body, answer)
            for observe in self.write_observers:
                observe(write)

    def stream(self, verb: str, path: str, query: dict[str, str], read_timeout: float) -> urllib3.BaseHTTPResponse:
        """A GET whose body is read as it arrives (a watch); the caller reads, then releases or shuts it down.

        A status of 300 or more raises the mapped KubeError, as `request` does.
        """
        url = self.server + path + "?" + urlencode(query)
        headers = {**self.connection.auth_headers(), "Accept": "application/json"}
        self.counter.add(verb)
        try:
            resp = self.connection.pool.request(
                "GET",
                url,
                headers=headers,
                preload_content=False,
                retries=False,
                timeout=urllib3.Timeout(connect=DEFAULT_TIMEOUT[0], read=read_timeout),
            )
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise Unavailable(f"GET {path}: cannot reach {self.server}: {type(e).__name__}: {e}") from e
        if resp.status >= 300:
            try:
                data = resp.data
            except (urllib3.exceptions.HTTPError, OSError):
                data = b""
            resp.release_conn()
            raise from_response(resp.status, data, f"GET {path}")
        return resp

    def _request(
        self,
        verb: str,
        method: str,
        path: str,
        query: dict[str, str] | None,
        body: Any,
        content_type: str,
        accept: str = "application/json",
    ) -> Any:
        url = self.server + path + ("?" + urlencode(query) if query else "")
        headers = {**self.connection.auth_headers(), "Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        # UTF-8 as is: ASCII escapes of characters outside the BMP are surrogate pairs (`\ud83d\ude00`), which the
        # apiserver's YAML decoder of apply patches refuses, so one emoji in a ConfigMap would stall a whole spoke.
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        what = f"{method} {path}"
        token = self.in_flight.start(what)
        try:
            status, data = self._send(verb, method, url, payload, headers, what)
        finally:
            self.in_flight.done(token)
        if status >= 300:
            raise from_response(status, data, what)
        try:
            return orjson.loads(data) if data else None
        except ValueError as e:  # orjson.JSONDecodeError is a ValueError
            raise KubeError(f"{what}: the server sent invalid JSON", status) from e

    def _send(
        self, verb: str, method: str, url: str, payload: bytes | None, headers: dict[str, str], what: str
    ) -> tuple[int, bytes]:
        for attempt in range(CONNECTION_RETRIES + 1):
            self.counter.add(verb)
            try:
                # The pool carries TLS and client certificates; calling it directly skips per-request work
                # (the official client's proxy environment scans) that cost as much CPU as the request itself.
                resp = self.connection.pool.request(
                    method,
                    url,
                    body=payload,
                    headers=headers,
                    timeout=self._timeout,
                    preload_content=True,
                    retries=False,
                )
                return resp.status, resp.data
            except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError) as e:
                # A silent server stays silent: retrying would only multiply the wait (3 x 60 s, once).
                limit = CONNECT_TIMEOUT if isinstance(e, urllib3.exceptions.ConnectTimeoutError) else READ_TIMEOUT
                raise Unavailable(
                    f"{what}: {self.server} did not answer within {limit:.0f} s; gave up ({type(e).__name__})"
                ) from e
            except (urllib3.exceptions.HTTPError, OSError) as e:
                # Every verb razee uses is idempotent (GET, LIST, apply, DELETE), so a request on a pooled
                # connection the server had already closed is safe to repeat.
                if attempt < CONNECTION_RETRIES:
                    time.sleep(RECONNECT.delay(attempt + 1))
                    continue
                raise Unavailable(f"{what}: cannot reach {self.server}: {type(e).__name__}: {e}") from e
        raise AssertionError("unreachable")  # the loop returns or raises
