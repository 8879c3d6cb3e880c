"""Quote cards: the "🖼" buttons under passages send the passage drawn as an image."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from db.models import User
from services.cards.quotes import PASSAGE_PREFIX, card_for_chunk, card_for_passage
from services.cards.render import QuoteCard, render

router = Router(name=__name__)


class CardCb(CallbackData, prefix="card"):
    chunk_id: int


class PassageCardCb(CallbackData, prefix=PASSAGE_PREFIX):
    """Made by services.cards.quotes.passage_card_data (the daily quote's button)."""

    book_id: int
    seq: int


def with_card_buttons(
    markup: InlineKeyboardMarkup | None, passages: Sequence[Any], i18n: Translator
) -> InlineKeyboardMarkup:
    """The keyboard with one "🖼 Card N" button per passage on top, N counting the passages in the order
    the message shows them (grouped by book, books in the order of their best passage)."""
    by_book: dict[int, list[Any]] = {}
    for passage in passages:
        by_book.setdefault(passage.book_id, []).append(passage)
    passages = [p for group in by_book.values() for p in group]
    buttons = [
        InlineKeyboardButton(text=i18n("cards-button", n=n), callback_data=CardCb(chunk_id=p.chunk_id).pack())
        for n, p in enumerate(passages, 1)
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    return InlineKeyboardMarkup(inline_keyboard=rows + (markup.inline_keyboard if markup else []))


@router.callback_query(CardCb.filter())
async def on_card(
    query: CallbackQuery, callback_data: CardCb, user: User, session: AsyncSession, i18n: Translator
) -> None:
    await send_card(query, await card_for_chunk(session, user.id, callback_data.chunk_id), i18n)


@router.callback_query(PassageCardCb.filter())
async def on_passage_card(
    query: CallbackQuery, callback_data: PassageCardCb, user: User, session: AsyncSession, i18n: Translator
) -> None:
    card = await card_for_passage(session, user.id, callback_data.book_id, callback_data.seq)
    await send_card(query, card, i18n)


async def send_card(query: CallbackQuery, card: QuoteCard | None, i18n: Translator) -> None:
    if card is None:
        await query.answer(i18n("cards-unavailable"), show_alert=True)
        return
    await query.answer(i18n("cards-drawing"))
    png = await asyncio.to_thread(render, card)
    assert query.message is not None
    await query.bot.send_photo(  # type: ignore[union-attr]
        query.message.chat.id,
        BufferedInputFile(png, "quote.png"),
        caption=i18n("cards-caption", title=card.title),
    )
