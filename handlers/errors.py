"""Errors: Redis (FSM storage) out of reach gets a "try again in a minute"; anything unexpected is logged
with the update id and the user gets an apology, not a traceback."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.i18n import I18n, pick_locale

logger = logging.getLogger(__name__)
router = Router(name=__name__)

# Called with (update_id, exception) after logging; the admin alerts feature subscribes here.
ERROR_LISTENERS: list[Any] = []


@router.error(ExceptionTypeFilter(RedisConnectionError, RedisTimeoutError))
async def on_storage_unavailable(event: ErrorEvent, ctx: Any) -> None:
    """Redis (the FSM storage) is down: a log line, no admin alert (/readyz reports it), and the user is
    told to try again in a minute."""
    update = event.update
    logger.warning("update %s: Redis is unreachable: %s", update.update_id, event.exception)
    message, query = update.message, update.callback_query
    tg_user = message.from_user if message else (query.from_user if query else None)
    if tg_user is None or ctx.bot is None:
        return
    i18n: I18n = ctx.i18n
    text = i18n.get(pick_locale(tg_user.language_code, i18n.default), "error-storage-unavailable")
    try:
        if query is not None:
            await query.answer(text, show_alert=True)
        elif message is not None:
            await ctx.bot.send_message(message.chat.id, text)
    except Exception:
        logger.warning("could not tell user %s that storage is unavailable", tg_user.id)


@router.error()
async def on_error(event: ErrorEvent, ctx: Any) -> None:
    update = event.update
    logger.exception("update %s failed", update.update_id, exc_info=event.exception)
    for listener in ERROR_LISTENERS:
        try:
            await listener(ctx, update.update_id, event.exception)
        except Exception:
            logger.exception("error listener failed")
    i18n: I18n = ctx.i18n
    message = update.message or (update.callback_query.message if update.callback_query else None)
    tg_user = update.message.from_user if update.message else None
    if update.callback_query is not None:
        tg_user = update.callback_query.from_user
    if message is None or tg_user is None or ctx.bot is None:
        return
    locale = pick_locale(tg_user.language_code, i18n.default)
    try:
        await ctx.bot.send_message(message.chat.id, i18n.get(locale, "error-unexpected"))
    except Exception:
        logger.warning("could not send the apology for update %s", update.update_id)
