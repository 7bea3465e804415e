"""The outbox is durable, ordered and bounded (newer full reports supersede the oldest); a report the hub refuses
never blocks the ones behind it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from razee.agent.delivery import Delivery
from razee.agent.outbox import Outbox


def test_outbox_keeps_order_survives_reopen_and_drops_oldest_when_full(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite", limit=5)
    for i in range(8):
        box.put(f"r{i}", {"n": i})
    box.put("r7", {"n": 7})  # the same report id twice is stored once
    assert box.dropped == 3
    box.close()
    box = Outbox(tmp_path / "o.sqlite", limit=5)
    pending = box.pending()
    assert [q.id for q in pending] == ["r3", "r4", "r5", "r6", "r7"]
    box.delivered(pending[0].seq)
    box.failed(pending[1].seq, "HTTP 503")
    again = box.pending()
    assert [q.id for q in again] == ["r4", "r5", "r6", "r7"] and again[0].attempts == 1
    box.close()


class _Hub(BaseHTTPRequestHandler):
    """A hub on loopback that refuses reports marked bad (422) and is down (503) for reports marked down."""

    seen: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(body["n"])
        status = {"bad": 422, "down": 503}.get(body.get("kind", ""), 201)
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b'{"detail": "paths: too many"}' if status == 422 else b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_a_refused_report_is_recorded_and_dropped_a_5xx_is_retried(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        box = Outbox(tmp_path / "o.sqlite")
        delivery = Delivery(box, f"http://127.0.0.1:{server.server_port}", "t")
        box.put("r1", {"n": 1})
        box.put("r2", {"n": 2, "kind": "bad"})
        box.put("r3", {"n": 3})
        box.put("r4", {"n": 4, "kind": "down"})
        box.put("r5", {"n": 5})
        assert delivery.flush() == 2  # r1 and r3; r2 refused and dropped; r4 stops the flush for a retry
        assert [q.id for q in box.pending()] == ["r4", "r5"] and box.pending()[0].attempts == 1
        (rejected,) = box.rejections()
        assert rejected[0] == "r2" and "HTTP 422" in rejected[2] and "too many" in rejected[2]
        assert _Hub.seen == [1, 2, 3, 4]
        box.close()
    finally:
        server.shutdown()
