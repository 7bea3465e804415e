"""Bringing a hub database to the current schema with Alembic, before the hub serves from it.

Several hub replicas may start at once on one PostgreSQL database. The upgrade runs in one transaction that first
takes a transaction-scoped advisory lock, so concurrent starts run one after the other: the first migrates, the
next ones wait for its commit, then find the schema at head and do nothing. The lock is released by the commit or
by the connection's end, so a replica killed mid-migration never leaves it held. SQLite serves one process.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from razee.hub import locks

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def upgrade(engine: Engine, target: str = "head") -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": locks.MIGRATION})
        config.attributes["connection"] = connection
        command.upgrade(config, target)
