"""INSERT … ON CONFLICT for the hub's small control rows, on PostgreSQL and SQLite alike.

A read-then-write (`Session.merge`) races when two replicas write the same new row: one of them fails on the
primary key. An upsert is one statement the database makes atomic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from razee.hub.schema import Base


def upsert(
    session: Session, table: type[Base], values: dict[str, Any], keys: Sequence[str], update: Sequence[str]
) -> Insert:
    """Insert `values`; on a conflict on `keys`, set the `update` columns (none: keep the row as it is)."""
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(table).values(**values)
        if not update:
            return pg.on_conflict_do_nothing(index_elements=list(keys))
        return pg.on_conflict_do_update(index_elements=list(keys), set_={c: pg.excluded[c] for c in update})
    lite = sqlite.insert(table).values(**values)
    if not update:
        return lite.on_conflict_do_nothing(index_elements=list(keys))
    return lite.on_conflict_do_update(index_elements=list(keys), set_={c: lite.excluded[c] for c in update})
