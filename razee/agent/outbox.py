"""A durable, bounded outbox of reports (SQLite, WAL): a hub outage or an agent restart loses nothing.

Reports are delivered in the order they were written. When the outbox is full, the oldest undelivered reports
are dropped first: every report is a full statement of the spoke's state, so a newer one supersedes them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
  body TEXT NOT NULL, created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
"""


@dataclass(frozen=True)
class Queued:
    seq: int
    id: str
    body: dict[str, Any]
    attempts: int


class Outbox:
    def __init__(self, path: Path, limit: int = 1000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self.limit = limit
        self.lock = threading.Lock()
        self.dropped = 0

    def put(self, report_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.db.execute("INSERT OR IGNORE INTO outbox (id, body, created) VALUES (?, ?, ?)",
                            (report_id, json.dumps(body, sort_keys=True), time.time()))
            count = self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            if count > self.limit:
                excess = count - self.limit
                self.db.execute("DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)",
                                (excess,))
                self.dropped += excess

    def pending(self, limit: int = 100) -> list[Queued]:
        with self.lock:
            rows = self.db.execute("SELECT seq, id, body, attempts FROM outbox ORDER BY seq LIMIT ?", (limit,))
            return [Queued(r[0], r[1], json.loads(r[2]), r[3]) for r in rows.fetchall()]

    def delivered(self, seq: int) -> None:
        with self.lock:
            self.db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def failed(self, seq: int, error: str) -> None:
        with self.lock:
            self.db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?", (error, seq))

    def __len__(self) -> int:
        with self.lock:
            return int(self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        self.db.close()
