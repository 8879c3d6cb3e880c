"""Per-user rate limits, checked before the FSM storage and the database so that a flood costs neither.

Every update counts against its kind's budget: questions (text that is not a command), uploads
(documents), button taps, and everything else (commands included). Over budget, nothing runs and nothing
is charged: the first message over it in a window gets one short notice in the user's language, the rest
are silent until the window ends; a tap over budget is always answered (with the notice) so the client
stops spinning. Owners (ADMIN_IDS) are never counted; admins (stored role) are looked up only once they
go over, and that answer is kept for a window. Payments and chat member updates are never limited.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, TelegramObject, Update
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import I18n, pick_locale
from bot.middlewares.base import Handler
from bot.settings import Settings
from db.repositories import users
from services.admin.roles import staff_role
from services.ratelimit import RateLimiter, Verdict

logger = logging.getLogger(__name__)


def update_kind(update: Update) -> str | None:
    """The budget an update counts against; None for the updates that are never limited."""
    if update.pre_checkout_query is not None or update.my_chat_member is not None:
        return None
    message = update.message
    if message is not None:
        if message.successful_payment is not None or message.refunded_payment is not None:
            return None
        if message.document is not None:
            return "uploads"
        if message.text is not None and not message.text.startswith("/"):
            return "questions"
    if update.callback_query is not None:
        return "callbacks"
    return "updates"


class RateLimitMiddleware(BaseMiddleware):
    def __init__(
        self,
        settings: Settings,
        i18n: I18n,
        session_factory: async_sessionmaker[AsyncSession],
        limiter: RateLimiter,
    ) -> None:
        self.admin_ids = settings.admin_ids
        self.window = settings.rate_window_seconds
        self.budgets = {
            "questions": settings.rate_questions,
            "uploads": settings.rate_uploads,
            "callbacks": settings.rate_callbacks,
            "updates": settings.rate_updates,
        }
        self.i18n = i18n
        self.session_factory = session_factory
        self.limiter = limiter
        # user id -> (until when, whether they are staff): looked up once per window, shared by a flood
        self._staff: dict[int, tuple[float, asyncio.Future[bool]]] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        kind = update_kind(event) if isinstance(event, Update) else None
        if kind is None or tg_user is None or tg_user.is_bot or tg_user.id in self.admin_ids:
            return await handler(event, data)
        verdict = await self.limiter.hit(f"{kind}:{tg_user.id}", self.budgets[kind], self.window)
        if verdict.allowed or await self._is_admin(tg_user.id):
            return await handler(event, data)
        assert isinstance(event, Update)
        await self._refuse(event, tg_user, verdict, data)
        return None

    async def _refuse(self, update: Update, tg_user: TgUser, verdict: Verdict, data: dict[str, Any]) -> None:
        locale = pick_locale(tg_user.language_code, self.i18n.default)
        text = self.i18n.get(locale, "rate-limited", seconds=verdict.retry_after)
        bot: Bot | None = data.get("bot")
        chat: Chat | None = data.get("event_chat")
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text)
            elif update.inline_query is not None:
                # Inline mode (counted as "updates"): no results this time, nothing said in a chat.
                await update.inline_query.answer([], cache_time=verdict.retry_after, is_personal=True)
            elif verdict.notify and bot is not None and chat is not None:
                await bot.send_message(chat.id, text)
        except TelegramAPIError:
            logger.info("could not tell user %s they are over their %s budget", tg_user.id, update.event_type)

    async def _is_admin(self, user_id: int) -> bool:
        now = time.monotonic()
        cached = self._staff.get(user_id)
        if cached is None or cached[0] <= now:
            self._staff = {uid: entry for uid, entry in self._staff.items() if entry[0] > now}
            cached = (now + self.window, asyncio.ensure_future(self._stored_staff(user_id)))
            self._staff[user_id] = cached
        try:
            return await asyncio.shield(cached[1])
        except Exception:
            # The database did not answer: treat them as a user this time and ask again next time.
            logger.exception("could not look up whether user %s is an admin", user_id)
            if self._staff.get(user_id) is cached:
                del self._staff[user_id]
            return False

    async def _stored_staff(self, user_id: int) -> bool:
        async with self.session_factory() as session:
            return staff_role(await users.get(session, user_id), self.admin_ids) is not None
