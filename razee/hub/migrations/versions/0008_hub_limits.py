"""Limits that match storage (issue 24): an object's API group holds what Kubernetes allows, 253 characters.

The column was 128: on PostgreSQL a longer group, legal in Kubernetes, failed the insert and the report got a 500
that its agent retried for ever. Widening a varchar only changes the catalogue in PostgreSQL (no table rewrite);
SQLite does not enforce varchar lengths, so there is nothing to change there.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("objects", "group", type_=sa.String(253), existing_type=sa.String(128), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("objects", "group", type_=sa.String(128), existing_type=sa.String(253), existing_nullable=False)
