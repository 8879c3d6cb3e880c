"""Records what users do as analytics events, generically: commands, button taps, messages by type and
sign-ups. Sign-ups and Telegram refunds (the refunded_payment service message) also alert the admins;
payments are alerted by billing, which knows a new payment from a redelivered one. Runs after the user
middleware, never fails an update."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from bot.middlewares.base import Handler
from services.analytics.events import Analytics
from services.notifications.alerts import AdminAlerts

logger = logging.getLogger(__name__)

MESSAGE_TYPES = ("successful_payment", "refunded_payment", "document", "photo", "voice", "text")


def event_kind(update: Update) -> str | None:
    """The event kind an update stands for, e.g. "command.start", "callback.lang", "message.document"."""
    message: Message | None = update.message
    if message is not None:
        text = message.text or ""
        if text.startswith("/"):
            name = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
            return f"command.{name[:32]}" if name else "message.text"
        for kind in MESSAGE_TYPES:
            if getattr(message, kind, None):
                return f"message.{kind}"
        return "message.other"
    query: CallbackQuery | None = update.callback_query
    if query is not None:
        prefix = (query.data or "").split(":", 1)[0]
        return f"callback.{prefix[:32]}" if prefix else "callback"
    if update.pre_checkout_query is not None:
        return "payment.checkout"
    return None


class AnalyticsMiddleware(BaseMiddleware):
    def __init__(self, analytics: Analytics, alerts: AdminAlerts | None = None) -> None:
        self.analytics = analytics
        self.alerts = alerts

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            self._record(event, data)
        except Exception:
            logger.exception("analytics middleware failed")
        return await handler(event, data)

    def _record(self, event: TelegramObject, data: dict[str, Any]) -> None:
        user = data.get("user")
        if user is None or not isinstance(event, Update):
            return
        if data.get("user_created"):
            self.analytics.record(user.id, "signup", language=user.language)
            if self.alerts is not None:
                self.alerts.new_user(user.id, user.full_name, user.username, user.language)
        kind = event_kind(event)
        if kind is None:
            return
        props: dict[str, Any] = {"book_id": user.active_book_id} if user.active_book_id else {}
        message = event.message
        paid = message.successful_payment if message is not None else None
        refunded = message.refunded_payment if message is not None else None
        if paid is not None:
            # No admin alert here: a redelivered payment must not alert twice; billing's handler alerts
            # once it has recorded the payment as new.
            props = {"amount": paid.total_amount, "currency": paid.currency}
        elif refunded is not None:
            props = {"amount": refunded.total_amount, "currency": refunded.currency}
            if self.alerts is not None:
                self.alerts.refund(
                    user.id, _amount(refunded.total_amount, refunded.currency), refunded.currency
                )
        self.analytics.record(user.id, kind, **props)


def _amount(total: int, currency: str) -> float:
    # Telegram gives amounts in the smallest unit: Stars are whole, rubles come in kopecks.
    return float(total) if currency == "XTR" else total / 100
