"""Which hub replica sends notifications: the one holding a PostgreSQL session advisory lock.

The lock lives on a connection of its own, kept open while the replica leads. If the replica dies, its connection
closes and PostgreSQL releases the lock at once; another replica takes it at its next look (every few seconds). If
the connection breaks while the replica lives (the database restarted), the replica stops leading until it gets
the lock again. On SQLite there is one hub process, and it always leads.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from razee.hub import locks

log = logging.getLogger(__name__)


class Leadership:
    def __init__(self, engine: Engine, key: int = locks.NOTIFIER) -> None:
        self.engine = engine
        self.key = key
        self.shared = engine.dialect.name == "postgresql"
        self.held = not self.shared
        self._conn: Connection | None = None

    def check(self) -> bool:
        """Take the lock if free, or make sure it is still held; whether this replica leads now."""
        if not self.shared:
            return True
        try:
            if self._conn is None:
                self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if self.held:
                self._conn.execute(text("SELECT 1"))
            else:
                self.held = bool(
                    self._conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
                )
                if self.held:
                    log.warning("this hub replica now sends the notifications")
        except SQLAlchemyError as e:
            if self.held:
                log.warning("lost the notifier's lock (%s); another replica may take over", type(e).__name__)
            self._drop()
        return self.held

    def _drop(self) -> None:
        self.held = False
        if self._conn is not None:
            try:
                self._conn.invalidate()  # really closed, never back to the pool with the lock on it
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None

    def release(self) -> None:
        """Let another replica lead now (closing the connection releases the lock)."""
        if self.shared:
            self._drop()
