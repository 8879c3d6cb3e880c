"""Books on a user's shelf and the chunks of text they were indexed as."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from db.base import Base, UTCDateTime, utcnow


class BookStatus(StrEnum):
    PENDING = "pending"  # saved, waiting for a worker
    PROCESSING = "processing"  # a worker holds it (see lease_owner / lease_expires_at)
    READY = "ready"
    FAILED = "failed"


class Book(Base):
    """One file a user sent, from upload to ready (or failed with a code the chat can explain)."""

    __tablename__ = "books"
    __table_args__ = (
        # The same file sent twice by one user is one book.
        UniqueConstraint("user_id", "file_sha256", name="uq_books_user_id_file_sha256"),
        Index("ix_books_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    format: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(512))
    author: Mapped[str | None] = mapped_column(String(512))
    language: Mapped[str | None] = mapped_column(String(8))
    pages: Mapped[int | None] = mapped_column(Integer)
    chapters: Mapped[int | None] = mapped_column(Integer)
    chars: Mapped[int | None] = mapped_column(Integer)
    chunks: Mapped[int] = mapped_column(Integer, default=0)

    status: Mapped[str] = mapped_column(String(16), default=BookStatus.PENDING, index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A book made from another user's identical file: its chunks and vectors were copied, not computed.
    source_book_id: Mapped[int | None] = mapped_column(Integer)

    # Who is working on it: "host:pid:token", and until when the claim holds (renewed while working).
    # A restart reclaims books whose owner is gone or whose lease ran out.
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Earliest time of the next attempt after a transient failure.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A ready book is searchable by its words at once; its dense vectors (meaning search) are added
    # behind it, and this stays true until they are all in (a restart picks the work up again).
    dense_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Seconds per stage ({"reading": 0.4, "chunking": 0.1, "indexing": 3.2}), for logs and the bench.
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    # The chat message that shows progress, so that it can still be edited after a restart.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Spoiler-safe reading: how far the reader has got (percent of the text, 0-100). When set, answers,
    # quotes and summaries use only passages before it (Chunk.percent < read_until).
    read_until: Mapped[float | None] = mapped_column(Float)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_final(self) -> bool:
        return self.status in (BookStatus.READY, BookStatus.FAILED)

    @property
    def display_title(self) -> str:
        return self.title or self.file_name


class Chunk(Base):
    """A passage exactly as indexed: quotes, summaries and daily quotes read it from here."""

    __tablename__ = "chunks"
    __table_args__ = (UniqueConstraint("book_id", "seq", name="uq_chunks_book_id_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(Integer, ForeignKey("books.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer)
    chapter: Mapped[str | None] = mapped_column(String(512))
    percent: Mapped[float] = mapped_column(Float, default=0.0)
    char_start: Mapped[int | None] = mapped_column(Integer)
    char_end: Mapped[int | None] = mapped_column(Integer)
