"""Banned users: one message saying so, then silence. Runs right after the user middleware.

A banned user's updates stop here, except the few that keep the accounts straight: a successful or
refunded payment (a subscription renewal is charged by Telegram without asking us) and the chat member
updates that record whether they blocked the bot. A pre-checkout is declined (it must be answered), a
callback query is answered empty (so the client stops waiting). Owners (ADMIN_IDS) are never locked out.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import I18n
from bot.middlewares.base import Handler
from db.models import User
from services.admin.bans import BanRegistry
from services.admin.roles import Role, staff_role

logger = logging.getLogger(__name__)


def _passes_through(update: Update) -> bool:
    message = update.message
    if message is not None and (message.successful_payment or message.refunded_payment):
        return True
    return update.my_chat_member is not None


class BanMiddleware(BaseMiddleware):
    def __init__(self, i18n: I18n, admin_ids: Collection[int], bans: BanRegistry | None = None) -> None:
        self.i18n = i18n
        self.admin_ids = admin_ids
        self.bans = bans or BanRegistry()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("user")
        if user is None or not user.banned or not isinstance(event, Update) or _passes_through(event):
            return await handler(event, data)
        if staff_role(user, self.admin_ids) is Role.OWNER:
            return await handler(event, data)
        await self._refuse(event, user, data)
        return None

    async def _refuse(self, update: Update, user: User, data: dict[str, Any]) -> None:
        bot: Bot | None = data.get("bot")
        session: AsyncSession = data["session"]
        if bot is None:
            return
        text = self.i18n.get(user.language, "ban-notice")
        try:
            if update.callback_query is not None:
                await update.callback_query.answer()
            if update.pre_checkout_query is not None:
                await update.pre_checkout_query.answer(ok=False, error_message=text[:255])
        except TelegramAPIError:
            logger.debug("could not answer an update of banned user %s", user.id)
        if await self.bans.claim_notice(session, user.id):
            await session.commit()
            try:
                await bot.send_message(user.id, text)
            except TelegramAPIError:
                logger.info("could not tell banned user %s about the ban", user.id)
