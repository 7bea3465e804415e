"""Fleet truth: the declared fleet per revision, the hub's own clock, report sizes and summaries, takeovers.

Existing reports get their size and an empty summary (history shows them without counts); nothing is lost.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "revisions",
        sa.Column("revision", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.Column("author", sa.Text, nullable=False, server_default=""),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("committed_at", sa.String(64), nullable=False, server_default=""),
        sa.Column("declared", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_revisions_seq", "revisions", ["seq"])
    with op.batch_alter_table("spokes") as batch:
        batch.add_column(sa.Column("missing", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("agent_time", sa.Float, nullable=True))
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("size", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("summary", sa.Text, nullable=False, server_default="{}"))
    op.execute("UPDATE reports SET size = length(body)")
    with op.batch_alter_table("objects") as batch:
        batch.add_column(sa.Column("takeovers", sa.Text, nullable=False, server_default="[]"))
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("by", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("by")
    with op.batch_alter_table("objects") as batch:
        batch.drop_column("takeovers")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("summary")
        batch.drop_column("size")
    with op.batch_alter_table("spokes") as batch:
        batch.drop_column("agent_time")
        batch.drop_column("missing")
    op.drop_index("ix_revisions_seq", "revisions")
    op.drop_table("revisions")
