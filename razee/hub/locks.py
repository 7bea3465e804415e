"""PostgreSQL advisory lock keys of the hub: one place, so two uses never share a key by accident.

Keys are 64-bit; the high bytes spell "razee" so they do not collide with another application's on a shared server.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_BASE = 0x72617A6565 << 8
MIGRATION = _BASE | 1
"""Held (per transaction) around a schema upgrade: replicas that start together migrate one after the other."""
REVISIONS = _BASE | 2
"""Held (per transaction) while a new revision takes its place in the hub's order: no two get the same `seq`."""
NOTIFIER = _BASE | 3
"""Held (per session, on a dedicated connection) by the one replica that sends notifications."""


def xact_lock(session: Session, key: int) -> None:
    """Wait for `key` until this transaction ends; a no-op on SQLite, whose writers are serialised anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
