"""The hub's picture, as the soak reads it: the API with a reader token (rollout views, spokes), and the reports it
stored, counted in its PostgreSQL database against what each agent's outbox says it delivered.

An agent's outbox numbers its reports (SQLite AUTOINCREMENT: `sqlite_sequence` holds the last number ever given,
deleted rows included). What it put minus what still waits minus what the hub refused is what it delivered; the
hub must hold exactly that many rows for the spoke (its retention is switched off for the soak).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg


class HubView:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: str) -> dict[str, Any]:
        r = httpx.get(self.url + path, params=params, headers=self.headers, timeout=60)
        r.raise_for_status()
        doc: dict[str, Any] = r.json()
        return doc

    def rollout(self, revision: str) -> dict[str, Any]:
        return self.get("/api/v1/rollout", revision=revision)

    def spokes(self) -> dict[str, dict[str, Any]]:
        doc = self.get("/api/v1/spokes", limit="500")
        return {s["spoke"]: s for s in doc["items"]}


@dataclass(frozen=True)
class OutboxCount:
    put: int
    pending: int
    refused: int

    @property
    def delivered(self) -> int:
        return self.put - self.pending - self.refused


def outbox_count(path: Path) -> OutboxCount:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        seq = dict(db.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
        pending = int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        db.close()
    return OutboxCount(int(seq.get("outbox", 0)), pending, int(seq.get("rejected", 0)))


def stored_reports(db: str) -> dict[str, int]:
    """Spoke -> reports stored by the hub."""
    with psycopg.connect(db) as conn:
        return {str(s): int(n) for s, n in conn.execute("SELECT spoke, COUNT(*) FROM reports GROUP BY spoke")}


def results_by_revision(db: str, revision: str) -> dict[str, set[str]]:
    """Spoke -> the results its stored reports gave for `revision`."""
    out: dict[str, set[str]] = {}
    with psycopg.connect(db) as conn:
        for spoke, result in conn.execute(
            "SELECT DISTINCT spoke, result FROM reports WHERE revision = %s", (revision,)
        ):
            out.setdefault(str(spoke), set()).add(str(result))
    return out


def spokes_with_result(db: str, result: str, since: float) -> set[str]:
    """Spokes with a stored report of `result` received at or after `since` (the hub's clock)."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT DISTINCT spoke FROM reports WHERE result = %s AND received >= %s", (result, since)
        ).fetchall()
    return {str(r[0]) for r in rows}
