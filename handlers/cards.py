"""Quote cards: the "🖼" buttons under passages send the passage drawn as an image, with its deep link
(counted as a share) and a "Share" button; `/start q_<id>` (handlers/start.py) opens it for others."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any

from aiogram import Bot, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import escape
from db.models import User
from services.cards.quotes import PASSAGE_PREFIX, card_for_chunk, card_for_passage
from services.cards.render import QuoteCard, render
from services.cards.shares import deep_link, record_share, share_url

router = Router(name=__name__)


class CardCb(CallbackData, prefix="card"):
    """A passage by its chunk row id (buttons sent before passages were named by book and place)."""

    chunk_id: int


class PassageCardCb(CallbackData, prefix=PASSAGE_PREFIX):
    """A passage by book and place: the buttons under /search results and answers, and the daily
    quote's (made by services.cards.quotes.passage_card_data)."""

    book_id: int
    seq: int


def with_card_buttons(
    markup: InlineKeyboardMarkup | None, passages: Sequence[Any], i18n: Translator, *, grouped: bool = True
) -> InlineKeyboardMarkup:
    """The keyboard with one "🖼 Card N" button per passage on top, N counting the passages in the order
    the message shows them: grouped by book, books in the order of their best passage (/search), or as
    given (`grouped=False`: an answer's numbered sources). A passage's `chunk_id` is its place (`seq`)
    in its book, as services.chat.Citation keeps it."""
    if grouped:
        by_book: dict[int, list[Any]] = {}
        for passage in passages:
            by_book.setdefault(passage.book_id, []).append(passage)
        passages = [p for group in by_book.values() for p in group]
    buttons = [
        InlineKeyboardButton(
            text=i18n("cards-button", n=n),
            callback_data=PassageCardCb(book_id=p.book_id, seq=p.chunk_id).pack(),
        )
        for n, p in enumerate(passages, 1)
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    return InlineKeyboardMarkup(inline_keyboard=rows + (markup.inline_keyboard if markup else []))


@router.callback_query(CardCb.filter())
async def on_card(
    query: CallbackQuery, callback_data: CardCb, bot: Bot, user: User, session: AsyncSession, i18n: Translator
) -> None:
    card = await card_for_chunk(session, user.id, callback_data.chunk_id)
    await send_card(query, bot, user, session, card, i18n)


@router.callback_query(PassageCardCb.filter())
async def on_passage_card(
    query: CallbackQuery, callback_data: PassageCardCb, bot: Bot, user: User, session: AsyncSession,
    i18n: Translator,
) -> None:  # fmt: skip
    card = await card_for_passage(session, user.id, callback_data.book_id, callback_data.seq)
    await send_card(query, bot, user, session, card, i18n)


async def bot_username(bot: Bot) -> str | None:
    try:
        return (await bot.me()).username
    except Exception:  # the link is left out rather than the card
        return None


async def send_card(
    query: CallbackQuery,
    bot: Bot,
    user: User,
    session: AsyncSession,
    card: QuoteCard | None,
    i18n: Translator,
) -> None:
    """Count the share, draw the card with its deep link, send it with a "Share" button."""
    if card is None:
        await query.answer(i18n("cards-unavailable"), show_alert=True)
        return
    await query.answer(i18n("cards-drawing"))
    quote_id = await record_share(session, user.id, card.book_id, card)  # commits: nothing held while drawing
    link = deep_link(await bot_username(bot), quote_id)
    card = dataclasses.replace(card, link=link)
    png = await asyncio.to_thread(render, card)
    assert query.message is not None
    markup = None
    caption = i18n("cards-caption", title=escape(card.title))
    if link is not None:
        caption = i18n("cards-caption-link", title=escape(card.title), link=escape(link))
        share = share_url(link, i18n("cards-share-text", title=card.title))
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=i18n("cards-button-share"), url=share)]]
        )
    await bot.send_photo(
        query.message.chat.id, BufferedInputFile(png, "quote.png"), caption=caption, reply_markup=markup
    )
