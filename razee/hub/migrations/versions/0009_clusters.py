"""Customer clusters and the fleet's sources: the latest state per cluster and per (spoke, cluster, source), and a
bounded trail of each cluster's changes (issue 28). New tables only: nothing existing changes.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("name", sa.String(253), primary_key=True),
        sa.Column("spoke", sa.String(64), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("declared", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("declared_spoke", sa.String(64), nullable=False, server_default=""),
        sa.Column("desired", sa.Text, nullable=False, server_default="{}"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version", sa.String(32), nullable=False, server_default=""),
        sa.Column("revision", sa.String(64), nullable=False, server_default=""),
        *(
            sa.Column(c, sa.Integer, nullable=False, server_default="0")
            for c in ("synced", "drifted", "failed", "workers_desired", "workers_observed", "pending")
        ),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
        sa.Column("digest", sa.String(64), nullable=False, server_default=""),
        sa.Column("changed", sa.Float, nullable=True),
    )
    for column in ("region", "spoke", "version", "state"):
        op.create_index(f"clusters_{column}_name", "clusters", [column, "name"])
    op.create_table(
        "cluster_changes",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("cluster", sa.String(253), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("spoke", sa.String(64), nullable=False),
        sa.Column("revision", sa.String(64), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("what", sa.Text, nullable=False),
    )
    op.create_index("cluster_changes_cluster_seq", "cluster_changes", ["cluster", "seq"])
    op.create_table(
        "sources",
        sa.Column("spoke", sa.String(64), primary_key=True),
        sa.Column("cluster", sa.String(253), primary_key=True),
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(253), primary_key=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("chart", sa.String(253), nullable=False, server_default=""),
        sa.Column("version", sa.String(253), nullable=False, server_default=""),
        sa.Column("digest", sa.String(200), nullable=False, server_default=""),
    )
    op.create_index("sources_chart_version", "sources", ["chart", "version"])
    op.create_index("sources_cluster", "sources", ["cluster"])


def downgrade() -> None:
    op.drop_table("sources")
    op.drop_table("cluster_changes")
    op.drop_table("clusters")
