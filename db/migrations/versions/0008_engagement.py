"""Reading streaks, milestones, the leaderboard, shared quote cards and spoiler-safe reading.

Revision ID: 0008_engagement
Revises: 0007_dense_pending
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision = "0008_engagement"
down_revision = "0007_dense_pending"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reading_streaks",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("current", sa.Integer(), nullable=False),
        sa.Column("best", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.Date()),
        sa.Column("days_total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_reading_streaks"),
    )
    op.create_table(
        "achievements",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("achieved_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "code", name="pk_achievements"),
    )
    op.create_table(
        "leaderboard",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("books", sa.Integer(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_leaderboard"),
    )
    op.create_index("ix_leaderboard_rank", "leaderboard", ["rank"])
    op.create_table(
        "shared_quotes",
        sa.Column("id", BigIntId, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("book_id", sa.BigInteger()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("author", sa.String(512)),
        sa.Column("place", sa.String(128)),
        sa.Column("shares", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shared_quotes"),
    )
    op.create_index("ix_shared_quotes_user_id", "shared_quotes", ["user_id"])
    op.create_index("ix_shared_quotes_views", "shared_quotes", ["views"])
    op.add_column("books", sa.Column("read_until", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("books") as batch:
        batch.drop_column("read_until")
    op.drop_index("ix_shared_quotes_views", table_name="shared_quotes")
    op.drop_index("ix_shared_quotes_user_id", table_name="shared_quotes")
    op.drop_table("shared_quotes")
    op.drop_index("ix_leaderboard_rank", table_name="leaderboard")
    op.drop_table("leaderboard")
    op.drop_table("achievements")
    op.drop_table("reading_streaks")
