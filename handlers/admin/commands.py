"""/admin in the command menu of owners and admins only: a command list scoped to their chat
(BotCommandScopeChat), so the public menu never shows it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.commands import MENU_COMMANDS
from bot.i18n import I18n
from db.models import User
from services.admin.roles import Role

logger = logging.getLogger(__name__)


def admin_commands(i18n: I18n, locale: str) -> list[BotCommand]:
    names = [*MENU_COMMANDS, "admin"]
    return [BotCommand(command=name, description=i18n.get(locale, f"command-{name}")) for name in names]


async def set_admin_commands(bot: Bot, i18n: I18n, user_id: int, locale: str) -> None:
    await bot.set_my_commands(admin_commands(i18n, locale), scope=BotCommandScopeChat(chat_id=user_id))


async def update_admin_commands(
    bot: Bot, i18n: I18n, session: AsyncSession, user_id: int, *, staff: bool
) -> None:
    """After a role change: the admin menu for a new admin, the public one back for a former admin."""
    try:
        if staff:
            user = await session.get(User, user_id)
            await set_admin_commands(bot, i18n, user_id, user.language if user else i18n.default)
        else:
            await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=user_id))
    except TelegramAPIError:
        logger.warning("could not update the command menu of user %s", user_id)


async def show_admin_commands(
    bot: Bot, i18n: I18n, session_factory: async_sessionmaker[AsyncSession], admin_ids: Collection[int]
) -> None:
    """At start-up: every owner and admin gets /admin in their menu (a chat the bot cannot reach yet,
    e.g. an owner who never wrote to it, is skipped); a former owner, no longer in ADMIN_IDS, loses it."""
    async with session_factory() as session:
        rows = (await session.execute(select(User.id, User.language).where(User.role == Role.ADMIN))).all()
        languages = {int(uid): str(lang) for uid, lang in rows}
        for owner in admin_ids:
            user = await session.get(User, owner)
            languages[owner] = user.language if user else i18n.default
        stored_owners = (await session.scalars(select(User.id).where(User.role == Role.OWNER))).all()
    for user_id, locale in languages.items():
        with contextlib.suppress(TelegramAPIError):
            await set_admin_commands(bot, i18n, user_id, locale)
    for former in set(stored_owners) - set(admin_ids):
        with contextlib.suppress(TelegramAPIError):
            await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=former))
