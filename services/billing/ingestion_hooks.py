"""Billing's part in taking books in, installed on the IngestionService at start-up:

- before indexing (pages known): the plan's limits (books on the shelf, file size) and the charge for the
  pages; refused with IngestionRejected, whose code the library shows (`library-error-<code>`);
- a book that fails for good gets its credits back; a ready book pays the referral bonus (once per
  invited user).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Book, BookStatus
from services.billing.service import BillingService, ReferralBonus

logger = logging.getLogger(__name__)

# Formats without pages (EPUB, FB2, text) are priced by characters: about a printed page each.
CHARS_PER_PAGE = 1800


class BillingNotices(Protocol):
    """Messages to users that happen outside a conversation (rendered by handlers.billing)."""

    async def low_credits(self, user_id: int, balance: int) -> None: ...

    async def referral_bonus(self, bonus: ReferralBonus) -> None: ...


def book_pages(book: Any) -> int:
    """The pages a book is priced by: its pages, else its length in printed pages, at least one."""
    if getattr(book, "pages", None):
        return int(book.pages)
    chars = int(getattr(book, "chars", 0) or 0)
    return max(1, -(-chars // CHARS_PER_PAGE))


class IngestionBilling:
    def __init__(
        self,
        billing: BillingService,
        session_factory: async_sessionmaker[AsyncSession],
        notices: BillingNotices | None = None,
    ) -> None:
        self.billing = billing
        self.session_factory = session_factory
        self.notices = notices

    async def before_index(self, book: Book) -> None:
        """Check the plan's limits and charge for the book; raise IngestionRejected to refuse it."""
        from services.ingestion.service import IngestionRejected

        pages = book_pages(book)
        async with self.session_factory() as session:
            limits = await self.billing.limits(session, book.user_id)
            if book.file_size and not limits.allows_file(book.file_size):
                raise IngestionRejected("too_large", size=book.file_size, limit=limits.max_file_bytes)
            others = await session.scalar(
                select(func.count())
                .select_from(Book)
                .where(Book.user_id == book.user_id, Book.id != book.id, Book.status != BookStatus.FAILED)
            )
            if not limits.allows_another_book(int(others or 0)):
                raise IngestionRejected("books_limit", limit=limits.max_books)
            outcome = await self.billing.charge_for_ingestion(session, book.user_id, pages, book.id)
            await session.commit()
        if not outcome.ok:
            raise IngestionRejected(
                "no_credits", cost=self.billing.quote_ingestion(pages), balance=outcome.balance
            )
        if outcome.warn_low and self.notices is not None:
            await self.notices.low_credits(book.user_id, outcome.balance)

    async def on_progress(self, book: Book, stage: str, fraction: float) -> None:
        try:
            if stage == "failed":
                async with self.session_factory() as session:
                    await self.billing.refund_ingestion(session, book.user_id, book.id)
                    await session.commit()
            elif stage == "ready":
                async with self.session_factory() as session:
                    bonus = await self.billing.on_first_book_ready(session, book.user_id)
                    await session.commit()
                if bonus is not None and bonus.granted and self.notices is not None:
                    await self.notices.referral_bonus(bonus)
        except Exception:
            logger.exception("billing after book %s went %s failed", book.id, stage)
