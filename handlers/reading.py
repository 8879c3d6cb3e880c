"""Spoiler-safe reading from the book card: "📍 How far I've read" takes a percentage or the last chapter
finished; answers, quotes, summaries and search then keep to the part read (services.chat.reading)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import escape
from db.models import User
from handlers.callbacks import BookCb
from handlers.chat_summary import ready_book
from handlers.chat_ui import ReadCb, chapters_keyboard
from services.chat.reading import parse_percent, read_to_chapter, set_read_until
from services.chat.summaries import book_chapters

router = Router(name=__name__)

NOT_A_COMMAND = ~F.text.startswith("/")


class ReadingStates(StatesGroup):
    percent = State()  # data: book_id


@router.callback_query(BookCb.filter(F.action == "read"))
async def on_read_menu(
    query: CallbackQuery, callback_data: BookCb, user: User, session: AsyncSession, i18n: Translator,
    state: FSMContext,
) -> None:  # fmt: skip
    book = await ready_book(session, user, callback_data.book_id)
    if book is None or not isinstance(query.message, Message):
        await query.answer(i18n("chat-book-unavailable"))
        return
    chapters = await book_chapters(session, book.id)
    await query.answer()
    await state.set_state(ReadingStates.percent)
    await state.set_data({"book_id": book.id})
    markup = chapters_keyboard(i18n, chapters, book.id, reading=True)
    if book.read_until is not None:
        clear = ReadCb(action="clear", book_id=book.id).pack()
        markup.inline_keyboard.append(
            [InlineKeyboardButton(text=i18n("reading-button-clear"), callback_data=clear)]
        )
    text = i18n("reading-prompt", title=escape(book.display_title))
    if chapters:
        text += "\n\n" + i18n("reading-prompt-chapters")
    await query.message.answer(text, reply_markup=markup if markup.inline_keyboard else None)


@router.message(Command("cancel"), StateFilter(ReadingStates))
async def on_cancel(message: Message, state: FSMContext, i18n: Translator) -> None:
    await state.clear()
    await message.answer(i18n("reading-cancelled"))


@router.message(ReadingStates.percent, F.text, NOT_A_COMMAND)
async def on_percent(
    message: Message, user: User, session: AsyncSession, i18n: Translator, state: FSMContext
) -> None:
    percent = parse_percent(message.text or "")
    book_id = int((await state.get_data()).get("book_id", 0))
    await state.clear()  # a question typed instead is not trapped here: the next message is the chat's
    if percent is None:
        await message.answer(i18n("reading-bad-percent"))
        return
    await _saved(message, user, session, i18n, book_id, percent)


@router.callback_query(ReadCb.filter(F.action == "ch"))
async def on_chapter(
    query: CallbackQuery, callback_data: ReadCb, user: User, session: AsyncSession, i18n: Translator,
    state: FSMContext,
) -> None:  # fmt: skip
    percent = await read_to_chapter(session, user.id, callback_data.book_id, callback_data.key)
    await query.answer()
    await state.clear()
    if isinstance(query.message, Message):
        await _saved(query.message, user, session, i18n, callback_data.book_id, percent, stored=True)


@router.callback_query(ReadCb.filter(F.action == "clear"))
async def on_clear(
    query: CallbackQuery, callback_data: ReadCb, user: User, session: AsyncSession, i18n: Translator,
    state: FSMContext,
) -> None:  # fmt: skip
    await query.answer()
    await state.clear()
    if isinstance(query.message, Message):
        await _saved(query.message, user, session, i18n, callback_data.book_id, 100.0)


async def _saved(
    message: Message, user: User, session: AsyncSession, i18n: Translator, book_id: int,
    percent: float | None, *, stored: bool = False,
) -> None:  # fmt: skip
    """Store the position (unless `stored`) and say what it means now."""
    book = await ready_book(session, user, book_id)
    if (
        book is None
        or percent is None
        or not (stored or await set_read_until(session, user.id, book_id, percent))
    ):
        await message.answer(i18n("chat-book-unavailable"))
        return
    await session.commit()
    title = escape(book.display_title)
    if percent >= 100.0:
        await message.answer(i18n("reading-cleared", title=title))
    else:
        await message.answer(
            i18n("reading-saved", title=title, percent=f"{percent:.1f}".rstrip("0").rstrip("."))
        )
