"""Notifications shared by hub replicas: the events found, and how far each receiver got.

The watcher's baseline (what was announced last) is a row of rollout_controls; no existing data changes.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("event", sa.Text, nullable=False),
    )
    op.create_index("ix_notifications_at", "notifications", ["at"])
    op.create_table(
        "notify_cursors",
        sa.Column("target", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notify_cursors")
    op.drop_index("ix_notifications_at", "notifications")
    op.drop_table("notifications")
