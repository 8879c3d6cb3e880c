"""Foundation: users.

Revision ID: 0001_foundation
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("username", sa.String(64)),
        sa.Column("first_name", sa.String(128)),
        sa.Column("last_name", sa.String(128)),
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
        sa.Column("language_chosen", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("role", sa.String(16), nullable=False, server_default="user"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("blocked_bot", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("banned", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("referrer_id", sa.BigInteger()),
        sa.Column("timezone", sa.String(64)),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("active_book_id", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
    )
    op.create_index("ix_users_role", "users", ["role"])
    op.create_index("ix_users_created_at", "users", ["created_at"])
    op.create_index("ix_users_last_seen_at", "users", ["last_seen_at"])
    op.create_index("ix_users_referrer_id", "users", ["referrer_id"])


def downgrade() -> None:
    op.drop_table("users")
