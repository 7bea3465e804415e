"""The outbox is durable, ordered and bounded (newer full reports supersede the oldest)."""

from __future__ import annotations

from pathlib import Path

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
