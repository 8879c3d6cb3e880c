"""Other features' services, as the admin uses them, looked up when used.

Features install their services into `ctx.services` in any order (billing as "billing", ingestion as
"ingestion", the search index as "search_index", notifications as "broadcasts" and "metrics"), so the
admin resolves them at the moment of use. Where one is missing the admin falls back to what it can do
alone (billing is plain code over the database; a book can be deleted without the ingestion workers),
or reports the action unavailable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Book
from db.repositories import books as books_repo
from services.admin.actor import AdminError
from services.config import ServiceSettings

if TYPE_CHECKING:
    from services.billing.orders import RefundOutcome
    from services.billing.service import BillingService

logger = logging.getLogger(__name__)


class BookOperations(Protocol):
    """What the admin needs from ingestion (IngestionService has both)."""

    async def retry(self, user_id: int, book_id: int) -> Any: ...

    async def delete(self, user_id: int, book_id: int) -> bool: ...

    def has_file(self, book: Book) -> bool: ...


class VectorIndex(Protocol):
    async def delete_book(self, user_id: int, book_id: int) -> Any: ...


class StarsRefunds(Protocol):
    """Billing's Stars refunds (StarsPayments.refund): Telegram's refund, credits back, and commit."""

    async def refund(self, session: AsyncSession, bot: Any, charge_id: str) -> RefundOutcome: ...


class DirectBooks:
    """Deleting books without the ingestion service: vectors (when an index is there), chunks, the row.
    Reprocessing needs the ingestion workers, so it is unavailable here."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], index: VectorIndex | None) -> None:
        self.session_factory = session_factory
        self.index = index

    async def retry(self, user_id: int, book_id: int) -> Any:
        raise AdminError("unavailable")

    def has_file(self, book: Book) -> bool:
        return False  # without the ingestion service nothing can be reprocessed

    async def delete(self, user_id: int, book_id: int) -> bool:
        async with self.session_factory() as session:
            book = await books_repo.get_for_user(session, user_id, book_id)
            if book is None:
                return False
        if self.index is not None:
            await self.index.delete_book(user_id, book_id)
        else:
            logger.warning(
                "no search index: the vectors of book %s stay until its collection is rebuilt", book_id
            )
        async with self.session_factory() as session:
            await books_repo.delete_book(session, book_id)
            if await books_repo.active_book_id(session, user_id) == book_id:
                await books_repo.set_active(session, user_id, None)
            await session.commit()
        return True


class Dependencies:
    """See the module docstring. `overrides` (billing=, stars=, books=, broadcasts=, metrics=) win, for tests."""

    def __init__(
        self,
        settings: ServiceSettings,
        session_factory: async_sessionmaker[AsyncSession],
        services: Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.services: Mapping[str, Any] = services if services is not None else {}
        self.overrides = overrides
        self._own_billing: BillingService | None = None

    def _get(self, name: str) -> Any:
        if name in self.overrides:
            return self.overrides[name]
        return self.services.get(name)

    def billing(self) -> BillingService:
        found = self._get("billing")
        if found is not None:
            return found  # type: ignore[no-any-return]
        if self._own_billing is None:
            from services.billing.factory import build_billing

            self._own_billing = build_billing(self.settings, self.session_factory)
        return self._own_billing

    def stars(self) -> StarsRefunds:
        found = self._get("stars")
        if found is not None:
            return found  # type: ignore[no-any-return]
        billing = self.billing()
        stars = getattr(billing, "stars", None)
        if stars is None:
            from services.billing.orders import OrderBook
            from services.billing.stars import StarsPayments

            stars = StarsPayments(billing, OrderBook(billing))
        return stars  # type: ignore[no-any-return]

    def books(self) -> BookOperations:
        found = self._get("books") or self._get("ingestion")
        if found is not None:
            return found  # type: ignore[no-any-return]
        return DirectBooks(self.session_factory, self._get("search_index"))

    def broadcasts(self) -> Any:
        found = self._get("broadcasts")
        if found is None:
            raise AdminError("unavailable")
        return found

    def metrics(self) -> Any:
        found = self._get("metrics")
        if found is None:
            from services.analytics.metrics import Metrics

            return Metrics(self.session_factory)
        return found
