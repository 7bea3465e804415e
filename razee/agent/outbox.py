"""A durable, bounded outbox of reports (SQLite, WAL): a hub outage or an agent restart loses nothing.

Reports are delivered in the order they were written. When the outbox is full, the oldest undelivered reports
are dropped first: every report is a full statement of the spoke's state, so a newer one supersedes them. A
report the hub refused is moved to `rejected` (the newest REJECTED_KEPT, with the hub's reason), for a person;
so is one the hub failed to store too many times (razee/agent/delivery.py counts those server errors here, apart
from the attempts that failed because no hub answered, which never set a report aside).
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
  body TEXT NOT NULL, created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
  server_errors INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS rejected (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, at REAL NOT NULL,
  reason TEXT NOT NULL, bytes INTEGER NOT NULL);
"""
REJECTED_KEPT = 20


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
        if "server_errors" not in {r[1] for r in self.db.execute("PRAGMA table_info(outbox)")}:  # an older outbox
            self.db.execute("ALTER TABLE outbox ADD COLUMN server_errors INTEGER NOT NULL DEFAULT 0")
        self.limit = limit
        self.lock = threading.Lock()
        self.dropped = 0
        self.rejected = 0

    def put(self, report_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.db.execute(
                "INSERT OR IGNORE INTO outbox (id, body, created) VALUES (?, ?, ?)",
                (report_id, json.dumps(body, sort_keys=True), time.time()),
            )
            count = self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            if count > self.limit:
                excess = count - self.limit
                self.db.execute(
                    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)", (excess,)
                )
                self.dropped += excess

    def pending(self, limit: int = 100) -> list[Queued]:
        with self.lock:
            rows = self.db.execute("SELECT seq, id, body, attempts FROM outbox ORDER BY seq LIMIT ?", (limit,))
            return [Queued(r[0], r[1], json.loads(r[2]), r[3]) for r in rows.fetchall()]

    def delivered(self, seq: int) -> None:
        with self.lock:
            self.db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def failed(self, seq: int, error: str, server_error: bool = False) -> int:
        """Count a failed attempt (and a server error, if it was one); returns the report's server errors."""
        with self.lock:
            self.db.execute(
                "UPDATE outbox SET attempts = attempts + 1, server_errors = server_errors + ?, "
                "last_error = ? WHERE seq = ?",
                (int(server_error), error, seq),
            )
            row = self.db.execute("SELECT server_errors FROM outbox WHERE seq = ?", (seq,)).fetchone()
            return int(row[0]) if row is not None else 0

    def reject(self, seq: int, reason: str) -> None:
        """The hub refused this report for good: keep a record of it (not its body) and drop it."""
        with self.lock:
            row = self.db.execute("SELECT id, length(body) FROM outbox WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                return
            self.db.execute(
                "INSERT INTO rejected (id, at, reason, bytes) VALUES (?, ?, ?, ?)",
                (row[0], time.time(), reason[:1000], row[1]),
            )
            self.db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self.db.execute(
                "DELETE FROM rejected WHERE seq NOT IN (SELECT seq FROM rejected ORDER BY seq DESC LIMIT ?)",
                (REJECTED_KEPT,),
            )
            self.rejected += 1

    def rejections(self) -> list[tuple[str, float, str]]:
        with self.lock:
            return [
                (r[0], r[1], r[2])
                for r in self.db.execute("SELECT id, at, reason FROM rejected ORDER BY seq DESC").fetchall()
            ]

    def __len__(self) -> int:
        with self.lock:
            return int(self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        self.db.close()
