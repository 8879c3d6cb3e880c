"""Small things every admin screen uses: editing the screen in place, buttons, pages, dates, errors."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.i18n import Translator
from bot.render import escape
from handlers.admin.callbacks import MenuCb, Section
from handlers.admin.states import ADMIN_STATES
from services.admin.actor import AdminError

PAGE_SIZE = 8

Keyboard = InlineKeyboardMarkup


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def keyboard(*rows: Sequence[InlineKeyboardButton]) -> Keyboard:
    return InlineKeyboardMarkup(inline_keyboard=[list(row) for row in rows if row])


def back_row(
    i18n: Translator, data: CallbackData | None = None, key: str = "admin-button-back"
) -> list[InlineKeyboardButton]:
    return [button(i18n(key), data or MenuCb(section=Section.MENU))]


def page_count(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


def clamp_page(page: int, total: int) -> int:
    return min(max(page, 0), page_count(total) - 1)


def pager(page: int, total: int, make: Callable[[int], CallbackData]) -> list[InlineKeyboardButton]:
    """◀ 2/5 ▶ — empty when everything fits on one page."""
    pages = page_count(total)
    if pages <= 1:
        return []
    row = []
    if page > 0:
        row.append(button("◀", make(page - 1)))
    row.append(button(f"{page + 1}/{pages}", make(page)))
    if page < pages - 1:
        row.append(button("▶", make(page + 1)))
    return row


def when(moment: datetime | None) -> str:
    """UTC, to the minute; "—" for none."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def person(user_id: int, first_name: str | None, last_name: str | None, username: str | None) -> str:
    """ "Name @username · 123" with user text escaped (plain, for buttons: see `person_plain`)."""
    return escape(person_plain(user_id, first_name, last_name, username))


def person_plain(user_id: int, first_name: str | None, last_name: str | None, username: str | None) -> str:
    name = " ".join(p for p in (first_name, last_name) if p) or "—"
    handle = f" @{username}" if username else ""
    return f"{name}{handle} · {user_id}"


def error_text(i18n: Translator, error: AdminError) -> str:
    return i18n(f"admin-error-{error.code}", **error.details)


async def show(query: CallbackQuery, text: str, markup: Keyboard | None = None) -> None:
    """Replace the screen the button was on; a photo or file screen gets a new message instead."""
    message = query.message
    if isinstance(message, Message) and message.text is not None:
        try:
            await message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as error:
            if "not modified" not in error.message:
                raise
        return
    if query.bot is not None:
        await query.bot.send_message(query.from_user.id, text, reply_markup=markup)


async def leave_input(state: FSMContext) -> None:
    """Stop waiting for typed input (a button led elsewhere); other features' states are left alone."""
    current = await state.get_state()
    if current is not None and any(current in group.__all_states_names__ for group in ADMIN_STATES):
        await state.set_state(None)
