"""The hub's database connection: the engine for SQLite (WAL) or PostgreSQL, and SQLite's compaction.

Kept apart from the store's questions because it is about the file and the connection pool, not about reports:
a SQLite file keeps its high-water mark unless it is told to give pages back, and that is this module's job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

WAL_KEEP_BYTES = 16 << 20
"""SQLite truncates its write-ahead log to this after a checkpoint: one burst of large reports does not leave it big."""
COMPACT_FREE_FRACTION = 0.25
COMPACT_MIN_PAGES = 1024
"""SQLite gives freed pages back to the file system once retention has freed a quarter of the file (and 4 MiB)."""


def engine_for(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _: Any) -> None:
            cur = conn.cursor()
            # effective when the first table is made (a new database); an older one converts at its first VACUUM
            cur.execute("PRAGMA auto_vacuum=INCREMENTAL")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def compact_sqlite(engine: Engine) -> bool:
    """Give SQLite's free pages back and truncate its log, once they pass COMPACT_FREE_FRACTION; True when it did.

    An incremental vacuum (a database made before auto_vacuum was set converts by one full VACUUM, once), then a
    checkpoint that empties the log. Raises OperationalError when the database stays busy past its timeout.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        free = int(c.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
        pages = int(c.exec_driver_sql("PRAGMA page_count").scalar() or 0)
        if free < COMPACT_MIN_PAGES or free < pages * COMPACT_FREE_FRACTION:
            return False
        if c.exec_driver_sql("PRAGMA auto_vacuum").scalar() == 2:  # INCREMENTAL
            raw = c.connection.driver_connection
            assert raw is not None
            raw.executescript("PRAGMA incremental_vacuum")  # sqlite3_exec steps it to the end (execute: 1 page)
        else:
            c.exec_driver_sql("VACUUM")
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return True
