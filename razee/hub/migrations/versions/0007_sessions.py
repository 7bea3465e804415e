"""Dashboard sessions (issue 24): a sign-in is a row shared by every replica, its cookie only a random session id.

Only a new table; no existing data changes. Cookies set by earlier versions (they held the token itself) are no
longer accepted: a signed-in viewer signs in once more.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
    )
    op.create_index("ix_web_sessions_token_id", "web_sessions", ["token_id"])
    op.create_index("ix_web_sessions_expires", "web_sessions", ["expires"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_expires", "web_sessions")
    op.drop_index("ix_web_sessions_token_id", "web_sessions")
    op.drop_table("web_sessions")
