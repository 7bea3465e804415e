"""The HTTP server the hub runs under: uvicorn with its h11 protocol, plus the limits uvicorn lacks for slow clients.

uvicorn closes a kept-alive connection after an idle timeout, but never times out a connection that sends nothing,
or half a request header, or a body a byte a minute (issue 24: 1,100 such connections took every file descriptor
and /healthz stopped answering). So each connection gets, here:
- a header deadline: the whole request header within `header_timeout` of the connection (or of the first byte of
  the next request on a kept-alive one), else a 408 and the connection is closed;
- a body timeout: a body that pauses longer than `body_timeout` is cut (a pause the hub causes by not reading, as
  uvicorn's flow control does while the app is busy, is not counted);
- a cap on open connections, below the process's file-descriptor limit: at the cap, a new connection first closes
  the oldest one that is waiting for a request (half a header, or idle between requests), so slow clients cannot
  lock out the ones that talk; only when every open connection is mid-request is the new one refused with a 503.

Why not another ASGI server: hypercorn's `read_timeout` limits each read, not the whole header, so a client that
sends a byte every few seconds is never cut, and it has no connection cap either; gunicorn's worker timeouts are
per worker process, not per connection. A small subclass of uvicorn's h11 protocol keeps the server every test
and deployment already runs, and its limits are tested against a real hub process
(tests/integration/test_hub_round2_ingress.py).
"""

from __future__ import annotations

import asyncio
import resource
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

BACKLOG = 64
"""Connections the kernel queues before the hub accepts them; asyncio accepts at most this many at once."""
RESERVED_FDS = 2 * BACKLOG + 128
"""File descriptors kept free of client connections. The cap is applied when a connection is made, one loop turn
after its accept, and a connection closed to make room lets its descriptor go one turn after that: so up to two
accept bursts can be open beyond the cap. The other 128 are the hub's own: the database pool (20 connections;
SQLite has three files each), the repo follower's git, logs."""
TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
FULL = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nretry-after: 1\r\nconnection: close\r\n\r\n"


@dataclass(frozen=True)
class ServeLimits:
    header_timeout: float = 10.0
    """Seconds for a whole request header to arrive."""
    body_timeout: float = 30.0
    """Seconds a request body may pause between two reads."""
    keep_alive_timeout: float = 5.0
    """Seconds an idle connection is kept open between requests (uvicorn's own timeout)."""
    max_connections: int = 1000
    """Open client connections at most; lowered to fit the file-descriptor limit (connection_cap)."""


def raise_fd_limit() -> int:
    """Raise the soft file-descriptor limit to the hard one (at most 65,536), and return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 65_536) if hard != resource.RLIM_INFINITY else 65_536
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft


def connection_cap(requested: int, fd_limit: int) -> int:
    """The cap in force: what was asked, but never so many that a connection could take the last descriptors."""
    return max(16, min(requested, fd_limit - RESERVED_FDS))


def guarded_protocol(limits: ServeLimits, cap: int) -> type[H11Protocol]:
    """An h11 protocol class whose connections share one registry (oldest first) and these limits."""
    open_connections: OrderedDict[GuardedH11, None] = OrderedDict()

    class GuardedH11(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _body_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            open_connections[self] = None
            if len(open_connections) > cap and not self._make_room():
                transport.write(FULL)
                transport.close()
                return
            self._arm_header()

        def _make_room(self) -> bool:
            """Close the oldest connection that waits for a request; False when every one is mid-request."""
            for other in open_connections:
                if other is not self and not other.transport.is_closing() and other._waiting():
                    other._close(TIMED_OUT)
                    return True
            return False

        def _waiting(self) -> bool:
            """No request in progress: half a header, or nothing since the last response."""
            return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

        def connection_lost(self, exc: Exception | None) -> None:
            open_connections.pop(self, None)
            self._cancel()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.transport.is_closing():
                return
            state = self.conn.their_state
            if state is h11.IDLE and self.conn.trailing_data[0]:
                self._arm_header()  # the next request has begun: its header has header_timeout from its first byte
            elif state is h11.SEND_BODY:
                self._clear_header()
                self._arm_body()
            else:
                self._cancel()

        def _arm_header(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(limits.header_timeout, self._header_late)

        def _header_late(self) -> None:
            self._header_timer = None
            if self._waiting():
                self._close(TIMED_OUT)

        def _arm_body(self) -> None:
            if self._body_timer is not None:
                self._body_timer.cancel()
            self._body_timer = self.loop.call_later(limits.body_timeout, self._body_late)

        def _body_late(self) -> None:
            self._body_timer = None
            if self.conn.their_state is not h11.SEND_BODY:
                return
            if self.flow.read_paused:  # the app has not taken what came: the client is not the slow one
                self._arm_body()
                return
            self._close(b"")  # the app sees a disconnect; a response may be under way, so none is written

        def _clear_header(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _cancel(self) -> None:
            self._clear_header()
            if self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None

        def _close(self, answer: bytes) -> None:
            self._cancel()
            if not self.transport.is_closing():
                if answer:
                    self.transport.write(answer)
                self.transport.close()

        def on_response_complete(self) -> None:
            self._cancel()
            super().on_response_complete()

    return GuardedH11


def serve(app: Any, host: str, port: int, limits: ServeLimits) -> None:
    """Run `app` until the process is told to stop."""
    cap = connection_cap(limits.max_connections, raise_fd_limit())
    # forwarded headers are judged by --trusted-proxy alone (razee/hub/web_policy.py), never by uvicorn's default
    # (which believes 127.0.0.1 and rewrites the scheme and client address)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=guarded_protocol(limits, cap),
        backlog=BACKLOG,
        timeout_keep_alive=max(1, round(limits.keep_alive_timeout)),
        proxy_headers=False,
    )
