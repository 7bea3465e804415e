"""Issue 24, the agent's side of case 4 and of case 3, through a real `razee hub serve` (SQLite): a report the hub
keeps failing with 500 is set aside after a bounded number of tries, recorded like a refused one, and the reports
behind it are delivered; a hub that is down, unavailable or busy for a long while loses nothing; a 429's
Retry-After is honoured and not counted.

The 500 comes from a small proxy on loopback in front of the real hub: it answers 500 for one report id (as the
hub did for a report longer than a PostgreSQL column, now a 422) and passes every other request through.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from razee.agent.delivery import SET_ASIDE_AFTER, Delivery
from razee.agent.outbox import Outbox
from tests.helpers.hubprocs import HubProcess


class Proxy:
    """In front of `upstream`: 500 for report `failing`; `mode` "503", "429" or "pass" for everything else."""

    def __init__(self, upstream: str, failing: str = "", port: int = 0) -> None:
        self.mode = "pass"
        self.hits: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                report_id = json.loads(raw).get("id", "")
                outer.hits[report_id] = outer.hits.get(report_id, 0) + 1
                if report_id == failing:
                    return self._answer(500, b"Internal Server Error", {})
                if outer.mode in ("503", "429"):
                    return self._answer(int(outer.mode), b"{}", {"Retry-After": "7"})
                r = httpx.post(
                    upstream + self.path,
                    content=raw,
                    timeout=60,
                    headers={"Authorization": self.headers["Authorization"], "Content-Type": "application/json"},
                )
                return self._answer(r.status_code, r.content, {})

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def report(n: int) -> dict[str, Any]:
    return {
        "schema": 1,
        "id": f"report-{n:04d}",
        "time": time.time(),
        "spoke": "edge",
        "region": "eu-de",
        "agent": "edge-0",
        "result": "in-sync",
        "source": {"revision": "rev-1"},
        "counts": {"synced": 3},
    }


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    h = HubProcess(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    yield h
    h.close()


def stored(hub: HubProcess, reader: str) -> list[str]:
    items = httpx.get(
        hub.url + "/api/v1/spokes/edge/history",
        params={"limit": 1000},
        timeout=60,
        headers={"Authorization": f"Bearer {reader}"},
    ).json()["items"]
    return sorted(i["id"] for i in items)


def flush_now(delivery: Delivery) -> int:
    delivery.next_try = 0.0  # the test does not sit through the backoff: it is what is counted that matters
    return delivery.flush()


def test_case4_a_report_the_hub_keeps_failing_is_set_aside_and_the_reports_behind_it_delivered(
    hub: HubProcess, tmp_path: Path
) -> None:
    token, reader = hub.token("agent", "edge"), hub.token("reader")
    proxy = Proxy(hub.url, failing="report-0002")
    outbox = Outbox(tmp_path / "outbox.sqlite")
    try:
        delivery = Delivery(outbox, proxy.url, token)
        for n in range(1, 6):
            outbox.put(f"report-{n:04d}", report(n))
        assert flush_now(delivery) == 1  # report 1; report 2 fails, and holds the ones behind it, for now
        for _ in range(SET_ASIDE_AFTER - 2):
            assert flush_now(delivery) == 0
            assert stored(hub, reader) == ["report-0001"] and not outbox.rejections()
        outbox.close()  # the count survives an agent restart
        outbox = Outbox(tmp_path / "outbox.sqlite")
        delivery = Delivery(outbox, proxy.url, token)
        assert flush_now(delivery) == 3  # the 8th server error sets report 2 aside; 3, 4 and 5 go
        assert stored(hub, reader) == ["report-0001", "report-0003", "report-0004", "report-0005"]
        assert proxy.hits["report-0002"] == SET_ASIDE_AFTER
        ((rejected_id, _, reason),) = outbox.rejections()
        assert rejected_id == "report-0002"
        assert f"set aside after {SET_ASIDE_AFTER} server errors" in reason and "HTTP 500" in reason
        assert len(outbox) == 0
    finally:
        outbox.close()
        proxy.close()


def test_case4_a_hub_down_unavailable_or_busy_for_long_loses_nothing(hub: HubProcess, tmp_path: Path) -> None:
    token, reader = hub.token("agent", "edge"), hub.token("reader")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outbox = Outbox(tmp_path / "outbox.sqlite")
    try:
        delivery = Delivery(outbox, f"http://127.0.0.1:{port}", token)
        for n in range(1, 4):
            outbox.put(f"report-{n:04d}", report(n))
        for _ in range(3 * SET_ASIDE_AFTER):  # nothing listens: unreachable, never counted
            assert flush_now(delivery) == 0
        proxy = Proxy(hub.url, port=port)
        try:
            for mode in ("503", "429"):  # unavailable, then busy: each with Retry-After, never counted
                proxy.mode = mode
                for _ in range(2 * SET_ASIDE_AFTER):
                    assert flush_now(delivery) == 0
                    wait = delivery.next_try - time.monotonic()
                    assert 5.0 < wait <= 7.0  # the hub's Retry-After, not the agent's own backoff
                    assert delivery.flush() == 0  # and nothing is sent before it
            assert proxy.hits["report-0001"] == 4 * SET_ASIDE_AFTER and not outbox.rejections()
            proxy.mode = "pass"
            assert flush_now(delivery) == 3
        finally:
            proxy.close()
        assert stored(hub, reader) == ["report-0001", "report-0002", "report-0003"]
        assert not outbox.rejections() and len(outbox) == 0
    finally:
        outbox.close()
