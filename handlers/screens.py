"""Editing the message a button was on: the one way every feature replaces a screen."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


async def edit_screen(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the text and buttons of the message the button is on; a second tap that changes nothing
    is not an error."""
    if not isinstance(query.message, Message):
        return
    try:
        await query.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as error:
        if "not modified" not in error.message.lower():
            raise
