"""Creates or refreshes the user behind every update (names, language, last seen), from the user cache
(db/user_cache.py) when it holds them, so that most updates need no database round trip."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import pick_locale
from bot.middlewares.base import Handler
from bot.settings import Settings
from db.base import utcnow
from db.repositories import users
from db.user_cache import UserCache
from services.admin.roles import STAFF


class UserMiddleware(BaseMiddleware):
    def __init__(self, settings: Settings, cache: UserCache | None = None) -> None:
        self.settings = settings
        self.cache = cache

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        session: AsyncSession = data["session"]
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        owner = tg_user.id in self.settings.admin_ids
        seen: dict[str, Any] = {
            "username": tg_user.username,
            "first_name": tg_user.first_name,
            "last_name": tg_user.last_name,
            "language": pick_locale(tg_user.language_code, self.settings.default_locale),
            "role": "owner" if owner else "user",
        }
        cache = None if owner else self.cache  # owners and admins are always read afresh
        user = cache.attach(session.sync_session, tg_user.id) if cache is not None else None
        created = False
        if user is not None:
            if users.refresh_seen(user, now=utcnow(), **seen):
                await session.commit()
        else:
            token = cache.token(tg_user.id) if cache is not None else None
            user, created = await users.upsert_seen(session, user_id=tg_user.id, **seen)
            await session.commit()
            if cache is not None and token is not None and user.role not in STAFF:
                cache.put(user, token)
        data["user"] = user
        data["user_created"] = created
        return await handler(event, data)
