"""Rollout safety (issue 27): wave checks' results, the revisions each spoke applied, completed rollouts, rollbacks.

Only new tables; no existing data changes. A spoke's applied revisions start being recorded from this version on.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "rollout_checks",
        sa.Column("spoke", sa.String(64), primary_key=True),
        sa.Column("revision", sa.String(64), primary_key=True),
        sa.Column("check", sa.String(64), primary_key=True),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("threshold", sa.String(100), nullable=False, server_default=""),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("failed", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("rollout_checks_revision", "rollout_checks", ["revision"])
    op.create_table(
        "spoke_revisions",
        sa.Column("spoke", sa.String(64), primary_key=True),
        sa.Column("revision", sa.String(64), primary_key=True),
        sa.Column("applied_at", sa.Float, nullable=False),
    )
    op.create_table(
        "rollout_completions",
        sa.Column("revision", sa.String(64), primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_table(
        "rollbacks",
        sa.Column("spoke", sa.String(64), primary_key=True),
        sa.Column("from_revision", sa.String(64), primary_key=True),
        sa.Column("to_revision", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_rollbacks_at", "rollbacks", ["at"])


def downgrade() -> None:
    op.drop_index("ix_rollbacks_at", "rollbacks")
    op.drop_table("rollbacks")
    op.drop_table("rollout_completions")
    op.drop_table("spoke_revisions")
    op.drop_index("rollout_checks_revision", "rollout_checks")
    op.drop_table("rollout_checks")
