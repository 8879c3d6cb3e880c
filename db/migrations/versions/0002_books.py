"""Books and their chunks, with what ingestion needs to resume after a restart.

Revision ID: 0002_books
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision = "0002_books"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "books",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("format", sa.String(16)),
        sa.Column("title", sa.String(512)),
        sa.Column("author", sa.String(512)),
        sa.Column("language", sa.String(8)),
        sa.Column("pages", sa.Integer()),
        sa.Column("chapters", sa.Integer()),
        sa.Column("chars", sa.Integer()),
        sa.Column("chunks", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("progress", sa.Float(), nullable=False, server_default="0"),
        sa.Column("stage", sa.String(16)),
        sa.Column("error_code", sa.String(32)),
        sa.Column("error_details", sa.JSON()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("source_book_id", sa.Integer()),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_expires_at", UTCDateTime()),
        sa.Column("next_attempt_at", UTCDateTime()),
        sa.Column("timings", sa.JSON()),
        sa.Column("chat_id", sa.BigInteger()),
        sa.Column("progress_message_id", sa.BigInteger()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("ready_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_books"),
        sa.UniqueConstraint("user_id", "file_sha256", name="uq_books_user_id_file_sha256"),
    )
    op.create_index("ix_books_user_id_created_at", "books", ["user_id", "created_at"])
    op.create_index("ix_books_file_sha256", "books", ["file_sha256"])
    op.create_index("ix_books_status", "books", ["status"])

    op.create_table(
        "chunks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer()),
        sa.Column("chapter", sa.String(512)),
        sa.Column("percent", sa.Float(), nullable=False, server_default="0"),
        sa.Column("char_start", sa.Integer()),
        sa.Column("char_end", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_chunks"),
        sa.ForeignKeyConstraint(
            ["book_id"], ["books.id"], name="fk_chunks_book_id_books", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("book_id", "seq", name="uq_chunks_book_id_seq"),
    )


def downgrade() -> None:
    op.drop_table("chunks")
    op.drop_index("ix_books_status", table_name="books")
    op.drop_index("ix_books_file_sha256", table_name="books")
    op.drop_index("ix_books_user_id_created_at", table_name="books")
    op.drop_table("books")
