"""Creates or refreshes the user behind every update (names, language, last seen)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import pick_locale
from bot.settings import Settings
from db.repositories import users


class UserMiddleware(BaseMiddleware):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        session: AsyncSession = data["session"]
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        user, created = await users.upsert_seen(
            session,
            user_id=tg_user.id,
            username=tg_user.username,
            first_name=tg_user.first_name,
            last_name=tg_user.last_name,
            language=pick_locale(tg_user.language_code, self.settings.default_locale),
            role="owner" if tg_user.id in self.settings.admin_ids else "user",
        )
        await session.commit()
        data["user"] = user
        data["user_created"] = created
        return await handler(event, data)
