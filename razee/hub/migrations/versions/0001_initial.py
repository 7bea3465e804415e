"""The first schema: tokens, spokes, reports, objects.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("spoke", sa.String(64), nullable=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "spokes",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("region", sa.String(64), nullable=False, index=True),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("report_id", sa.String(64), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("revision", sa.String(64), nullable=False, index=True),
        sa.Column("objects", sa.Integer, nullable=False),
        sa.Column("drifted", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("unhealthy", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("spoke", sa.String(64), nullable=False),
        sa.Column("received", sa.Float, nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("revision", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("reports_spoke_received", "reports", ["spoke", "received"])
    op.create_table(
        "objects",
        sa.Column("spoke", sa.String(64), primary_key=True),
        sa.Column("group", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("namespace", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(253), primary_key=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paths", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("objects_status_region", "objects", ["status", "region"])


def downgrade() -> None:
    for table in ("objects", "reports", "spokes", "tokens"):
        op.drop_table(table)
