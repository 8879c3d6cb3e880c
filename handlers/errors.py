"""Unexpected errors: logged with the update id; the user gets an apology, not a traceback."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.types import ErrorEvent

from bot.i18n import I18n, pick_locale

logger = logging.getLogger(__name__)
router = Router(name=__name__)

# Called with (update_id, exception) after logging; the admin alerts feature subscribes here.
ERROR_LISTENERS: list[Any] = []


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
