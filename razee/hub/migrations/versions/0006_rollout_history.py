"""Rollout history (issue 28): when a spoke first was healthy on each revision it applied.

Before this version the hub recorded only when a spoke applied a revision. Rows from then get their applied time
as their healthy time, the best the hub knows: left unknown, every rollout before the upgrade would read as never
healthy anywhere.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("spoke_revisions") as batch:
        batch.add_column(sa.Column("healthy_at", sa.Float, nullable=True))
    op.execute("UPDATE spoke_revisions SET healthy_at = applied_at")


def downgrade() -> None:
    with op.batch_alter_table("spoke_revisions") as batch:
        batch.drop_column("healthy_at")
