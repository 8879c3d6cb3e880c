"""Conversations with books: turns (memory), cached answers, stored summaries and LLM usage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, BigIntId, UTCDateTime, utcnow
from db.encryption import EncryptedText


class ChatTurn(Base):
    """One question and its answer; the last few uncleared turns of a user+book are the memory.

    `book_id` is None for questions asked across the whole shelf. /new marks the turns `cleared`
    rather than deleting them, so analytics keep the history.
    """

    __tablename__ = "chat_turns"
    __table_args__ = (Index("ix_chat_turns_user_id_book_id_id", "user_id", "book_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    book_id: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16), default="answer")
    question: Mapped[str] = mapped_column(EncryptedText)
    # The standalone question used for retrieval (a follow-up rewritten with the conversation).
    search_query: Mapped[str] = mapped_column(EncryptedText)
    answer: Mapped[str] = mapped_column(EncryptedText)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    provider: Mapped[str] = mapped_column(String(32))
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    cleared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnswerCacheEntry(Base):
    """An answer kept for the same normalised question on the same book (or shelf) and mode."""

    __tablename__ = "answer_cache"
    __table_args__ = (UniqueConstraint("key", name="uq_answer_cache_key"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # sha256 of user, scope, mode and the normalised question.
    key: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    book_id: Mapped[int | None] = mapped_column(Integer, index=True)
    mode: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(EncryptedText)
    answer: Mapped[str] = mapped_column(EncryptedText)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    provider: Mapped[str] = mapped_column(String(32))
    hits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BookSummary(Base):
    """A summary computed once: of the whole book (`scope` "book") or one chapter ("chapter:<key>").

    `method` is "llm" or "extractive"; both may exist for one scope, the LLM one is preferred.
    """

    __tablename__ = "book_summaries"
    __table_args__ = (UniqueConstraint("book_id", "scope", "method", name="uq_book_summaries_book_id_scope"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    scope: Mapped[str] = mapped_column(String(64))
    chapter: Mapped[str | None] = mapped_column(String(512))
    method: Mapped[str] = mapped_column(String(16))
    short: Mapped[str] = mapped_column(Text)
    long: Mapped[str] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"text", "chunk_id", "page", "chapter"}]
    quotes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    provider: Mapped[str | None] = mapped_column(String(32))
    llm_calls: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LLMUsageRecord(Base):
    """Tokens and cost of one successful LLM call; credits and analytics read this table."""

    __tablename__ = "llm_usage"
    __table_args__ = (Index("ix_llm_usage_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    book_id: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    # What the call was for: answer, rewrite, expand, summary, study, ...
    purpose: Mapped[str] = mapped_column(String(32), default="answer")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
