"""Progressive rollout: each spoke's wave and when it applied its revision; pause and approvals.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("spokes") as batch:
        batch.add_column(sa.Column("wave", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("applied_at", sa.Float, nullable=True))
        batch.add_column(sa.Column("degraded", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "rollout_controls",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "approvals",
        sa.Column("revision", sa.String(64), primary_key=True),
        sa.Column("wave", sa.String(64), primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("approvals")
    op.drop_table("rollout_controls")
    with op.batch_alter_table("spokes") as batch:
        batch.drop_column("degraded")
        batch.drop_column("applied_at")
        batch.drop_column("wave")
