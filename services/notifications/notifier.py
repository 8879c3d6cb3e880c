"""User notifications: the bot speaks first when something happened that the user cares about.

Other features call these methods (book ready or failed, payment received or refunded, trial started,
ending and ended, low balance); the notifier checks the user's /settings, makes sure one event is told once
(a delivery record per event), renders the text from locales in the user's language and hands it to the
Sender. Admin alerts and analytics for the same events are raised here too, so each feature has one call
to make.
"""

from __future__ import annotations

import functools
import html
import logging
from datetime import datetime, timedelta
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import User
from db.repositories import notifications as repo
from db.repositories.books import PASSWORD_CODES
from locales.i18n import I18n
from services.jobs.clock import Clock
from services.notifications import preferences
from services.notifications.alerts import AdminAlerts
from services.notifications.content import Digest, Passage
from services.notifications.preferences import Kind
from services.notifications.sender import OutgoingMessage, Sender, SendResult, SendStatus
from services.places import chapter_name

logger = logging.getLogger(__name__)

# A book that took longer than this is announced even to a user who was watching its progress message.
BOOK_SLOW_AFTER = timedelta(minutes=2)


class Notifier:
    """Sends one kind of message to one user, if they want it and have not had it yet."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        sender: Sender,
        i18n: I18n,
        clock: Clock,
        *,
        alerts: AdminAlerts | None = None,
        analytics: Any | None = None,
        book_slow_after: timedelta = BOOK_SLOW_AFTER,
    ) -> None:
        self.session_factory = session_factory
        self.sender = sender
        self.i18n = i18n
        self.clock = clock
        self.alerts = alerts
        self.analytics = analytics
        self.book_slow_after = book_slow_after
        self.started_at = clock.now()

    async def notify(
        self,
        user_id: int,
        kind: Kind,
        key: str,
        *,
        campaign: str | None = None,
        details: dict[str, Any] | None = None,
        reply_markup: InlineKeyboardMarkup | None = None,
        **params: Any,
    ) -> SendResult | None:
        """Render `key` in the user's language and send it. None when not sent on purpose (the user turned
        this kind off, blocked the bot, is banned, or `campaign` was already delivered to them)."""
        async with self.session_factory() as session:
            user = await session.get(User, user_id)
            if user is None or not self.wants(user, kind):
                return None
            delivery_id = None
            if campaign is not None:
                delivery_id = await repo.claim_delivery(
                    session, campaign, user_id, self.clock.now(), details=details
                )
                await session.commit()
                if delivery_id is None:
                    return None
            text = self.i18n.get(user.language, key, **params)
        return await self.deliver(
            user_id, OutgoingMessage(text=text, reply_markup=reply_markup), delivery_id, kind
        )

    @staticmethod
    def wants(user: User, kind: Kind) -> bool:
        return not user.blocked_bot and not user.banned and preferences.is_enabled(user, kind)

    async def deliver(
        self, user_id: int, message: OutgoingMessage, delivery_id: int | None, kind: Kind | None = None
    ) -> SendResult:
        """Send, then record the outcome on the claimed delivery (if any)."""
        result = await self.sender.send(user_id, message, check_blocked=False)
        if self.analytics is not None and kind is not None:
            self.analytics.record(user_id, f"notify.{kind}", status=result.status.value)
        if delivery_id is not None:
            async with self.session_factory() as session:
                await repo.finish_delivery(
                    session, delivery_id, result.status.value, self.clock.now(), error=result.error
                )
                await session.commit()
        return result

    # --- scheduled (called by jobs) -------------------------------------------------------------------

    async def daily_quote(
        self, user_id: int, passage: Passage, *, campaign: str, locale: str
    ) -> SendResult | None:
        return await self.notify(
            user_id,
            Kind.QUOTE,
            "notify-quote",
            campaign=campaign,
            details={"book_id": passage.book_id, "seq": passage.seq},
            reply_markup=self._card_button(locale, passage),
            text=html.escape(passage.text),
            title=html.escape(passage.title),
            author=html.escape(passage.author or "") or "none",
            place=self._place_in(locale, passage),
        )

    async def weekly_digest(
        self, user_id: int, digest: Digest, *, campaign: str, locale: str
    ) -> SendResult | None:
        t = self.i18n.get
        parts = [t(locale, "notify-digest-title")]
        if digest.questions:
            books = ", ".join(f"<b>{html.escape(title)}</b> ({n})" for title, n in digest.books_discussed)
            parts.append(t(locale, "notify-digest-questions", count=digest.questions, books=books or "-"))
        else:
            parts.append(t(locale, "notify-digest-no-questions"))
        if digest.books_added:
            titles = ", ".join(f"<b>{html.escape(title)}</b>" for title in digest.books_added)
            parts.append(t(locale, "notify-digest-added", count=len(digest.books_added), titles=titles))
        if digest.passage is not None:
            p = digest.passage
            parts.append(
                t(
                    locale,
                    "notify-digest-passage",
                    text=html.escape(p.text),
                    title=html.escape(p.title),
                    place=self._place_in(locale, p),
                )
            )
        parts.append(t(locale, "notify-settings-hint"))
        return await self.notify(
            user_id, Kind.DIGEST, "notify-raw", campaign=campaign, text="\n\n".join(parts)
        )

    async def reengage(self, user_id: int, *, days: int, campaign: str, has_books: bool) -> SendResult | None:
        key = f"notify-reengage-{days}" + ("" if has_books else "-new")
        return await self.notify(user_id, Kind.REMINDERS, key, campaign=campaign)

    def _card_button(self, locale: str, passage: Passage) -> InlineKeyboardMarkup:
        from services.cards.quotes import passage_card_data

        button = InlineKeyboardButton(
            text=self.i18n.get(locale, "cards-button-one"),
            callback_data=passage_card_data(passage.book_id, passage.seq),
        )
        return InlineKeyboardMarkup(inline_keyboard=[[button]])

    def _place_in(self, locale: str, passage: Passage) -> str:
        bits = []
        if passage.chapter:
            translate = functools.partial(self.i18n.get, locale)
            bits.append(html.escape(chapter_name(passage.chapter, translate)))
        if passage.page is not None:
            bits.append(self.i18n.get(locale, "notify-place-page", page=passage.page))
        # where in the book, for every passage (chunks keep 0-100; older callers passed 0-1)
        bits.append(f"{round(passage.percent * 100 if passage.percent <= 1 else passage.percent)}%")
        return " · ".join(bits)

    # --- books (called by ingestion) -----------------------------------------------------------------

    async def book_ready(
        self,
        user_id: int,
        book_id: int,
        title: str,
        *,
        started_at: datetime | None = None,
        resumed: bool = False,
        chunks: int | None = None,
    ) -> SendResult | None:
        """A book finished indexing. The user watching its progress message already sees the card, so
        they are told only when it finished after a restart (`resumed`) or took longer than BOOK_SLOW_AFTER."""
        if not self._worth_telling(started_at, resumed):
            return None
        return await self.notify(
            user_id,
            Kind.BOOKS,
            "notify-book-ready",
            campaign=f"book_ready:{book_id}",
            title=html.escape(title),
        )

    async def book_failed(
        self,
        user_id: int,
        book_id: int,
        title: str,
        error_code: str,
        *,
        started_at: datetime | None = None,
        resumed: bool = False,
    ) -> SendResult | None:
        """A book could not be read: admins always hear of it; the user as for book_ready."""
        if self.alerts is not None:
            self.alerts.book_failed(user_id, book_id, title, error_code)
        if not self._worth_telling(started_at, resumed):
            return None
        return await self.notify(
            user_id,
            Kind.BOOKS,
            "notify-book-failed",
            campaign=f"book_failed:{book_id}",
            title=html.escape(title),
            code=error_code,
        )

    def _worth_telling(self, started_at: datetime | None, resumed: bool) -> bool:
        return resumed or (started_at is not None and self.clock.now() - started_at > self.book_slow_after)

    async def on_ingestion_progress(self, book: Any, stage: str, fraction: float) -> None:
        """IngestionService listener: ready and failed books, told as book_ready / book_failed say. A book
        created before this process started was resumed after a restart."""
        if stage not in ("ready", "failed"):
            return
        if stage == "failed" and getattr(book, "error_code", None) in PASSWORD_CODES:
            return  # not a failure: the book waits for its password, and its card asks the user for it
        if self.analytics is not None:
            self.analytics.record(book.user_id, f"book.{stage}", book_id=book.id)
        created = getattr(book, "created_at", None)
        resumed = created is not None and created < self.started_at
        title = getattr(book, "display_title", None) or getattr(book, "title", None) or ""
        if stage == "ready":
            await self.book_ready(book.user_id, book.id, title, started_at=created, resumed=resumed)
        else:
            code = str(getattr(book, "error_code", None) or "internal")
            await self.book_failed(book.user_id, book.id, title, code, started_at=created, resumed=resumed)

    # --- money (called by billing) -------------------------------------------------------------------

    async def payment_received(
        self,
        user_id: int,
        *,
        payment_id: str | int,
        amount: float,
        currency: str,
        credits: int | None = None,
        what: str = "",
    ) -> SendResult | None:
        if self.alerts is not None:
            self.alerts.payment(user_id, amount, currency, what)
        return await self.notify(
            user_id,
            Kind.PAYMENTS,
            "notify-payment-received",
            campaign=f"payment:{payment_id}",
            amount=_amount(amount),
            currency=currency,
            credits=credits if credits is not None else 0,
        )

    async def payment_refunded(
        self, user_id: int, *, payment_id: str | int, amount: float, currency: str
    ) -> SendResult | None:
        if self.alerts is not None:
            self.alerts.refund(user_id, amount, currency)
        return await self.notify(
            user_id,
            Kind.PAYMENTS,
            "notify-payment-refunded",
            campaign=f"refund:{payment_id}",
            amount=_amount(amount),
            currency=currency,
        )

    async def trial_started(
        self, user_id: int, *, ends_at: datetime, credits: int | None = None
    ) -> SendResult | None:
        return await self.notify(
            user_id,
            Kind.TRIAL,
            "notify-trial-started",
            campaign=f"trial_started:{ends_at.date().isoformat()}",
            date=ends_at.date().isoformat(),
            credits=credits if credits is not None else 0,
        )

    async def trial_ending(self, user_id: int, *, ends_at: datetime) -> SendResult | None:
        return await self.notify(
            user_id,
            Kind.TRIAL,
            "notify-trial-ending",
            campaign=f"trial_ending:{ends_at.date().isoformat()}",
            date=ends_at.date().isoformat(),
        )

    async def trial_ended(self, user_id: int, *, ended_at: datetime) -> SendResult | None:
        return await self.notify(
            user_id, Kind.TRIAL, "notify-trial-ended", campaign=f"trial_ended:{ended_at.date().isoformat()}"
        )

    async def low_balance(self, user_id: int, *, balance: int, period: str) -> SendResult | None:
        """Credits are running low; once per `period` (e.g. the plan's billing period)."""
        return await self.notify(
            user_id, Kind.BALANCE, "notify-low-balance", campaign=f"low_balance:{period}", balance=balance
        )


def _amount(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


__all__ = ["BOOK_SLOW_AFTER", "Notifier", "SendStatus"]
