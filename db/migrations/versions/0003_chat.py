"""Conversations, answers and LLM usage.

Revision ID: 0003_chat
Revises: 0002_books
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision = "0003_chat"
down_revision = "0002_books"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY (see db.base.BigIntId).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chat_turns",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("book_id", sa.Integer()),
        sa.Column("mode", sa.String(16), nullable=False, server_default="answer"),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("search_query", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("cleared", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_turns"),
    )
    op.create_index("ix_chat_turns_user_id_book_id_id", "chat_turns", ["user_id", "book_id", "id"])

    op.create_table(
        "answer_cache",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("book_id", sa.Integer()),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_answer_cache"),
        sa.UniqueConstraint("key", name="uq_answer_cache_key"),
    )
    op.create_index("ix_answer_cache_user_id", "answer_cache", ["user_id"])
    op.create_index("ix_answer_cache_book_id", "answer_cache", ["book_id"])

    op.create_table(
        "book_summaries",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("chapter", sa.String(512)),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("short", sa.Text(), nullable=False),
        sa.Column("long", sa.Text(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("quotes", sa.JSON(), nullable=False),
        sa.Column("provider", sa.String(32)),
        sa.Column("llm_calls", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_book_summaries"),
        sa.UniqueConstraint("book_id", "scope", "method", name="uq_book_summaries_book_id_scope"),
    )
    op.create_index("ix_book_summaries_book_id", "book_summaries", ["book_id"])

    op.create_table(
        "llm_usage",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger()),
        sa.Column("book_id", sa.Integer()),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cost_usd", sa.Float(), nullable=False, server_default="0"),
        sa.Column("purpose", sa.String(32), nullable=False, server_default="answer"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_llm_usage"),
    )
    op.create_index("ix_llm_usage_user_id_created_at", "llm_usage", ["user_id", "created_at"])
    op.create_index("ix_llm_usage_created_at", "llm_usage", ["created_at"])


def downgrade() -> None:
    op.drop_table("llm_usage")
    op.drop_table("book_summaries")
    op.drop_table("answer_cache")
    op.drop_table("chat_turns")
