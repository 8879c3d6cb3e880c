"""Gives handlers `i18n`, a translator in the user's language."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from bot.i18n import I18n, pick_locale
from bot.middlewares.base import Handler


class I18nMiddleware(BaseMiddleware):
    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("user")
        if user is not None:
            locale = user.language
        else:
            tg_user = data.get("event_from_user")
            locale = pick_locale(getattr(tg_user, "language_code", None), self.i18n.default)
        data["i18n"] = self.i18n.translator(locale)
        return await handler(event, data)
