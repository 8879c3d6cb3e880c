"""NUL characters out of everything a user sends, before any handler or middleware sees it.

PostgreSQL text cannot hold "\x00", so a question, a new title, a caption, a file name or a first name
carrying one would fail where it is stored. It is dropped once here, where updates enter, for every string
in the update.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiogram import BaseMiddleware
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.types import TelegramObject

from bot.middlewares.base import Handler

T = TypeVar("T")


def without_nul(value: T) -> T:
    """`value` with "\x00" removed from every string in it; the very same object when there is none."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value  # type: ignore[return-value]
    if isinstance(value, TelegramObject):
        changed = {}
        for name in value.model_fields_set:
            item = getattr(value, name)
            clean = without_nul(item)
            if clean is not item:
                changed[name] = clean
        return value.model_copy(update=changed) if changed else value
    if isinstance(value, list):
        items = [without_nul(item) for item in value]
        if any(clean is not item for clean, item in zip(items, value, strict=True)):
            return items  # type: ignore[return-value]
    return value


class StripNulMiddleware(BaseMiddleware):
    """Hands the middlewares after it and every handler an update without NUL characters."""

    _context = UserContextMiddleware()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        clean = without_nul(event)
        if clean is event:
            return await handler(event, data)
        # aiogram took the user and the chat from the update before this ran: take them from the clean one.
        return await self._context(handler, clean, data)
