"""Several hub URLs: a malformed list is a usage error naming the entry; delivery fails over on a hub's trouble (down,
5xx), sticks to the hub that works, never fails over on a 4xx refusal, and backs off only when every hub failed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from razee.agent.delivery import Delivery
from razee.agent.outbox import Outbox
from razee.errors import UsageError
from razee.hubclient import parse_hubs


def test_hub_lists_are_parsed_in_order_and_bad_entries_named_without_credentials() -> None:
    assert parse_hubs(["https://a.example.com/", "http://b:8080, https://c"]) == (
        "https://a.example.com",
        "http://b:8080",
        "https://c",
    )
    assert parse_hubs(["http://a,http://a"]) == ("http://a",)
    for bad, words in (
        (["http://a,,http://b"], "an empty URL"),
        (["ftp://user:s3cret@h"], "ftp://***@h"),
        (["http://a:70000"], "invalid port"),
        (["a.example.com"], "a.example.com"),
        (["https://"], "not an http"),
    ):
        with pytest.raises(UsageError) as e:
            parse_hubs(bad)
        assert words in e.value.message and "s3cret" not in e.value.message


class Hub:
    """A hub on loopback answering every report with `status`; it records the report ids it got."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.got: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["id"])
                self.send_response(outer.status)
                self.end_headers()
                self.wfile.write(b'{"detail": "no"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def down() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens there


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "o.sqlite")
    yield box
    box.close()


def test_delivery_fails_over_sticks_and_backs_off_only_when_all_fail(down: str, outbox: Outbox) -> None:
    failing, good = Hub(503), Hub(201)
    try:
        delivery = Delivery(outbox, [down, failing.url, good.url], "t")
        for i in range(3):
            outbox.put(f"r{i}", {"id": f"r{i}"})
        assert delivery.flush() == 3 and len(outbox) == 0
        assert failing.got == ["r0"] and good.got == ["r0", "r1", "r2"]  # after one failover it stays on `good`
        assert delivery.hubs is not None and delivery.hubs.current == good.url
        good.status = 500  # now every hub fails: the report stays queued and the agent backs off
        outbox.put("r3", {"id": "r3"})
        assert delivery.flush() == 0 and len(outbox) == 1 and delivery.backoff > 0
        assert failing.got == ["r0", "r3"] and good.got[-1] == "r3"  # each tried once, in order, from `good`
    finally:
        failing.close()
        good.close()


def test_a_refusal_from_a_healthy_hub_is_not_failed_over(outbox: Outbox) -> None:
    refusing, other = Hub(422), Hub(201)
    try:
        delivery = Delivery(outbox, f"{refusing.url},{other.url}", "t")
        outbox.put("bad", {"id": "bad"})
        assert delivery.flush() == 0 and len(outbox) == 0  # recorded as rejected and dropped
        assert refusing.got == ["bad"] and other.got == []
        assert [r[0] for r in outbox.rejections()] == ["bad"]
    finally:
        refusing.close()
        other.close()
