"""/privacy, /export and /delete_me: what the bot keeps, the user's data as a file, and erasing it."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from handlers.admin.guard import admin_service
from services.privacy.export import export_zip

router = Router(name=__name__)


class PrivacyCb(CallbackData, prefix="priv"):
    action: str  # "delete" (confirmed) | "keep"


@router.message(Command("privacy"))
async def on_privacy(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("privacy-text"))


@router.message(Command("export"))
async def on_export(message: Message, session: AsyncSession, i18n: Translator) -> None:
    assert message.from_user is not None
    data = await export_zip(session, message.from_user.id)
    if data is None:
        await message.answer(i18n("privacy-export-nothing"))
        return
    await message.answer_document(
        BufferedInputFile(data, f"librarity-{message.from_user.id}.zip"),
        caption=i18n("privacy-export-caption"),
    )


@router.message(Command("delete_me"))
async def on_delete_me(message: Message, i18n: Translator) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=i18n("privacy-delete-button-yes"), callback_data=PrivacyCb(action="delete").pack()
                )
            ],
            [
                InlineKeyboardButton(
                    text=i18n("privacy-delete-button-no"), callback_data=PrivacyCb(action="keep").pack()
                )
            ],
        ]
    )
    await message.answer(i18n("privacy-delete-confirm"), reply_markup=keyboard)


@router.callback_query(PrivacyCb.filter(F.action == "keep"))
async def on_keep(query: CallbackQuery, i18n: Translator) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(i18n("privacy-delete-kept"))


@router.callback_query(PrivacyCb.filter(F.action == "delete"))
async def on_delete(query: CallbackQuery, session: AsyncSession, i18n: Translator, ctx: Any) -> None:
    await query.answer(i18n("privacy-delete-working"))
    result = await admin_service(ctx).users.delete_own_data(session, query.from_user.id)
    text = i18n("privacy-delete-done", books=result.books, turns=result.turns)
    if isinstance(query.message, Message):
        await query.message.edit_text(text)
