"""The answer cache: the same question on the same book and mode is answered without the LLM."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AnswerCacheEntry
from services.chat.quotes import normalise


def normalise_question(question: str) -> str:
    """Case, spacing, quotes and final punctuation do not make a different question."""
    text = normalise(question)
    text = re.sub(r"[\s?!.…,;:]+$", "", text)
    return re.sub(r"\s+([?!.,;:])", r"\1", text)


def cache_key(user_id: int, book_id: int | None, mode: str, question: str, shelf: str = "") -> str:
    """`shelf` names the books a whole-shelf answer was made from, so a new book makes a new key."""
    scope = f"all:{shelf}" if book_id is None else str(book_id)
    raw = f"{user_id}\x1f{scope}\x1f{mode}\x1f{normalise_question(question)}"
    return hashlib.sha256(raw.encode()).hexdigest()


class AnswerCache:
    async def get(
        self,
        session: AsyncSession,
        user_id: int,
        book_id: int | None,
        mode: str,
        question: str,
        *,
        shelf: str = "",
        since: datetime | None = None,
    ) -> AnswerCacheEntry | None:
        """The cached answer; one older than `since` (the book's creation) is dropped as stale."""
        key = cache_key(user_id, book_id, mode, question, shelf)
        entry = await session.scalar(select(AnswerCacheEntry).where(AnswerCacheEntry.key == key))
        if entry is not None and since is not None and entry.created_at < since:
            await session.execute(delete(AnswerCacheEntry).where(AnswerCacheEntry.id == entry.id))
            return None
        if entry is not None:
            await session.execute(
                update(AnswerCacheEntry)
                .where(AnswerCacheEntry.id == entry.id)
                .values(hits=AnswerCacheEntry.hits + 1)
                .execution_options(synchronize_session=False)
            )
        return entry

    async def put(
        self,
        session: AsyncSession,
        *,
        user_id: int,
        book_id: int | None,
        mode: str,
        question: str,
        answer: str,
        citations: Sequence[dict[str, Any]],
        provider: str,
        shelf: str = "",
    ) -> None:
        entry = AnswerCacheEntry(
            key=cache_key(user_id, book_id, mode, question, shelf),
            user_id=user_id,
            book_id=book_id,
            mode=mode,
            question=question,
            answer=answer,
            citations=list(citations),
            provider=provider,
        )
        try:
            async with session.begin_nested():
                session.add(entry)
        except IntegrityError:
            pass  # the same question answered twice at once: the first answer stays

    async def forget_book(self, session: AsyncSession, book_id: int) -> None:
        """Drop a book's answers (the book was deleted or re-indexed)."""
        await session.execute(delete(AnswerCacheEntry).where(AnswerCacheEntry.book_id == book_id))
