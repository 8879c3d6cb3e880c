"""Anything no other handler took: a friendly hint instead of silence."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.i18n import Translator

router = Router(name=__name__)


@router.message()
async def not_understood(message: Message, i18n: Translator) -> None:
    key = "fallback-unknown-command" if (message.text or "").startswith("/") else "fallback-not-understood"
    await message.answer(i18n(key))


@router.callback_query()
async def stale_button(query: CallbackQuery, i18n: Translator) -> None:
    await query.answer(i18n("fallback-stale-button"))
