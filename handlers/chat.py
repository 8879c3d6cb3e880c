"""Talking to the active book: questions (streamed answers with sources), /new, /mode, /search, the
answer's buttons and the book card's "ask" button. Summaries and study mode are in chat_summary.py."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import escape
from db.models import Book, BookStatus, User
from db.repositories import books as books_repo
from handlers import chat_summary
from handlers.billing import refusal_reply
from handlers.callbacks import BookCb
from handlers.cards import with_card_buttons
from handlers.chat_stream import AnswerStream
from handlers.chat_ui import (
    ChatCb,
    ChatStates,
    ModeCb,
    answer_html,
    answer_keyboard,
    leave_search_keyboard,
    limits_note,
    mode_keyboard,
    parts,
    passages_html,
    search_html,
)
from handlers.engagement import announce_milestones, count_reading, count_reading_day
from services.billing.service import BillingService
from services.chat import MODES, AnswerResult, AnswerService, Citation, Mode
from services.chat.summaries import SummaryService
from services.engagement.streaks import ReadingStreaks

router = Router(name=__name__)
router.include_router(chat_summary.router)

SEARCH_K = 8
NOT_A_COMMAND = ~F.text.startswith("/")


# --- asking ----------------------------------------------------------------------------------------


@router.message(StateFilter(None), F.text, NOT_A_COMMAND)
async def on_question(
    message: Message, bot: Bot, user: User, session: AsyncSession, i18n: Translator, answers: AnswerService,
    billing: BillingService, streaks: ReadingStreaks | None = None,
) -> None:  # fmt: skip
    book = await active_book(session, user)
    if book is None:
        await say_no_book(message, session, user, i18n)
        return
    mode = user_mode(user)
    if mode == "study":
        mode = "answer"  # study questions come from their buttons; a typed question is answered
    stream = AnswerStream(bot, message.chat.id, draft_id=message.message_id)
    await stream.start()
    try:
        result = await answers.answer(
            session,
            user_id=user.id,
            question=message.text or "",
            book_id=book.id,
            mode=mode,
            on_text=stream.update,
        )
    finally:
        await stream.close()
    # The day is counted before the answer goes out, so /stats sent right after it already shows it.
    reached = await count_reading_day(user, session, streaks) if result.refusal is None else []
    await send_result(message, result, i18n, book, billing)
    await announce_milestones(message, i18n, reached)


async def send_result(
    message: Message, result: AnswerResult, i18n: Translator, book: Book | None, billing: BillingService
) -> None:
    if result.refusal is not None:
        await send_refusal(message, result, i18n, billing)
        return
    if not result.found:
        title = book.display_title if book else ""
        await message.answer(i18n("chat-not-found", title=escape(title)))
        return
    if result.mode == "quotes":
        title = book.display_title if book else ""
        header = i18n("chat-quotes-title", title=escape(title), query=escape(result.search_query))
        html = header + "\n\n" + passages_html(i18n, result.citations)
    else:
        html = answer_html(i18n, result)
    markup = answer_keyboard(i18n, result.turn_id)
    if result.citations:  # a "🖼 Card N" button per numbered source
        markup = with_card_buttons(markup, result.citations, i18n, grouped=False)
    await send_parts(message, html, markup)


async def send_refusal(
    message: Message, result: AnswerResult, i18n: Translator, billing: BillingService
) -> None:
    """No credits left, or the day's questions used: a friendly word and the buy buttons; nothing charged."""
    text, markup = refusal_reply(i18n, billing, result.refusal)
    await message.answer(text, reply_markup=markup)


async def send_parts(message: Message, html: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Send HTML split at 4096 characters; the buttons go under the last part."""
    pieces = parts(html)
    for index, piece in enumerate(pieces):
        await message.answer(piece, reply_markup=markup if index == len(pieces) - 1 else None)


# --- the answer's buttons ---------------------------------------------------------------------------


@router.callback_query(ChatCb.filter(F.action == "src"))
async def on_sources(
    query: CallbackQuery, callback_data: ChatCb, user: User, session: AsyncSession, i18n: Translator,
    answers: AnswerService,
) -> None:  # fmt: skip
    citations = await answers.turn_citations(session, user.id, callback_data.turn)
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if not citations:
        await query.message.answer(i18n("chat-sources-none"))
        return
    titles = await book_titles(session, citations)
    markup = with_card_buttons(None, citations, i18n, grouped=False)
    await send_parts(
        query.message, passages_html(i18n, citations, titles if len(titles) > 1 else None), markup
    )


@router.callback_query(ChatCb.filter(F.action == "more"))
async def on_more(
    query: CallbackQuery, callback_data: ChatCb, bot: Bot, user: User, session: AsyncSession, i18n: Translator,
    answers: AnswerService, billing: BillingService,
) -> None:  # fmt: skip
    await query.answer()
    if not isinstance(query.message, Message):
        return
    stream = AnswerStream(bot, query.message.chat.id, draft_id=query.message.message_id)
    await stream.start()
    try:
        result = await answers.expand(
            session, user_id=user.id, turn_id=callback_data.turn, on_text=stream.update
        )
    finally:
        await stream.close()
    if result is None:
        await query.message.answer(i18n("chat-stale"))
    elif result.refusal is not None:
        await send_refusal(query.message, result, i18n, billing)
    elif not result.found or (not result.citations and not result.text):
        await query.message.answer(i18n("chat-more-none"))
    else:
        markup = with_card_buttons(answer_keyboard(i18n, None), result.citations, i18n, grouped=False)
        html = passages_html(i18n, result.citations) if result.mode == "quotes" else answer_html(i18n, result)
        await send_parts(query.message, html, markup)


@router.callback_query(ChatCb.filter(F.action == "new"))
async def on_new_button(
    query: CallbackQuery,
    user: User,
    session: AsyncSession,
    i18n: Translator,
    answers: AnswerService,
    state: FSMContext,
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await start_over(query.message, user, session, i18n, answers, state)


@router.message(Command("new"))
async def cmd_new(
    message: Message,
    user: User,
    session: AsyncSession,
    i18n: Translator,
    answers: AnswerService,
    state: FSMContext,
) -> None:
    await start_over(message, user, session, i18n, answers, state)


async def start_over(
    message: Message,
    user: User,
    session: AsyncSession,
    i18n: Translator,
    answers: AnswerService,
    state: FSMContext,
) -> None:
    if await state.get_state() in (ChatStates.search.state, ChatStates.study.state):
        await state.clear()
    await answers.new_topic(session, user.id, user.active_book_id)
    await answers.new_topic(session, user.id, None)  # the shelf-wide conversation too
    await message.answer(i18n("chat-new-done"))


# --- modes -----------------------------------------------------------------------------------------


def user_mode(user: User) -> Mode:
    mode = (user.settings or {}).get("chat_mode", "answer")
    return mode if mode in MODES else "answer"


@router.message(Command("mode"))
async def cmd_mode(message: Message, user: User, i18n: Translator) -> None:
    current = user_mode(user)
    await message.answer(
        i18n("chat-mode-choose", mode=i18n(f"chat-mode-{current}")), reply_markup=mode_keyboard(i18n, current)
    )


@router.callback_query(ModeCb.filter(F.mode == "search"))
async def on_search_button(query: CallbackQuery, i18n: Translator, state: FSMContext) -> None:
    await query.answer()
    await state.set_state(ChatStates.search)
    if isinstance(query.message, Message):
        await query.message.answer(i18n("chat-search-prompt"))


@router.callback_query(ModeCb.filter())
async def on_mode(
    query: CallbackQuery,
    callback_data: ModeCb,
    user: User,
    session: AsyncSession,
    i18n: Translator,
    state: FSMContext,
    summaries: SummaryService,
) -> None:
    if callback_data.mode not in MODES:
        await query.answer()
        return
    if await state.get_state() == ChatStates.search.state:
        await state.clear()
    user.settings = {**(user.settings or {}), "chat_mode": callback_data.mode}
    await session.commit()
    label = i18n(f"chat-mode-{callback_data.mode}")
    await query.answer(i18n("chat-mode-changed", mode=label))
    if not isinstance(query.message, Message):
        return
    if callback_data.mode == "study":
        await chat_summary.offer_study(query.message, user, session, i18n, state, summaries)
    else:
        await query.message.answer(
            i18n("chat-mode-changed", mode=label) + "\n" + i18n(f"chat-mode-{callback_data.mode}-hint")
        )


# --- searching the shelf ------------------------------------------------------------------------------


@router.message(Command("search"))
async def cmd_search(
    message: Message, command: CommandObject, user: User, session: AsyncSession, i18n: Translator,
    answers: AnswerService, state: FSMContext, streaks: ReadingStreaks | None = None,
) -> None:  # fmt: skip
    if not command.args or not command.args.strip():
        await state.set_state(ChatStates.search)
        await message.answer(i18n("chat-search-prompt"))
        return
    if await search_shelf(message, command.args, user, session, i18n, answers):
        await count_reading(message, user, session, i18n, streaks)


@router.message(ChatStates.search, F.text, NOT_A_COMMAND)
async def on_search_query(
    message: Message, user: User, session: AsyncSession, i18n: Translator, answers: AnswerService,
    streaks: ReadingStreaks | None = None,
) -> None:  # fmt: skip
    """Searching all books is a mode: it stays until the user leaves it (the button under each result,
    another mode, or /new), and every result says so."""
    if await search_shelf(message, message.text or "", user, session, i18n, answers, mode=True):
        await count_reading(message, user, session, i18n, streaks)


@router.callback_query(ChatCb.filter(F.action == "book"))
async def on_leave_search(
    query: CallbackQuery, user: User, session: AsyncSession, i18n: Translator, state: FSMContext
) -> None:
    if await state.get_state() == ChatStates.search.state:
        await state.clear()
    book = await active_book(session, user)
    await query.answer()
    if isinstance(query.message, Message):
        if book is None:
            await say_no_book(query.message, session, user, i18n)
        else:
            await query.message.answer(i18n("chat-search-mode-off", title=escape(book.display_title)))


async def search_shelf(
    message: Message, query: str, user: User, session: AsyncSession, i18n: Translator, answers: AnswerService,
    *, mode: bool = False,
) -> bool:  # fmt: skip
    """Search the user's shelf and show what was found; whether anything was."""
    if await books_repo.latest_ready(session, user.id) is None:
        await message.answer(i18n("chat-no-book"))
        return False
    limits = await books_repo.reading_limits(session, user.id)
    await session.commit()  # no connection is held while searching
    found = await answers.retrieve(user.id, query, book_id=None, k=SEARCH_K, limits=limits)
    footer, markup = "", None
    if mode:
        footer = "\n\n" + i18n("chat-search-mode-on")
        markup = leave_search_keyboard(i18n)
    if not found:
        await message.answer(i18n("chat-search-nothing", query=escape(query)) + footer, reply_markup=markup)
        return False
    titles = await book_titles(session, found)
    markup = with_card_buttons(markup, found, i18n)
    note = limits_note(i18n, limits, {c.book_id for c in found})
    await send_parts(message, search_html(i18n, query, found, titles) + note + footer, markup)
    return True


# --- the book card ---------------------------------------------------------------------------------


@router.callback_query(BookCb.filter(F.action == "ask"))
async def on_card_ask(
    query: CallbackQuery, callback_data: BookCb, user: User, session: AsyncSession, i18n: Translator
) -> None:
    book = await books_repo.get_for_user(session, user.id, callback_data.book_id)
    if book is None or book.status != BookStatus.READY:
        await query.answer(i18n("chat-book-unavailable"))
        return
    await books_repo.set_active(session, user.id, book.id)
    await session.commit()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(i18n("chat-ask-prompt", title=escape(book.display_title)))


# --- helpers ---------------------------------------------------------------------------------------


async def active_book(session: AsyncSession, user: User) -> Book | None:
    """The user's active book when it is theirs and ready."""
    if user.active_book_id is None:
        return None
    book = await books_repo.get_for_user(session, user.id, user.active_book_id)
    return book if book is not None and book.status == BookStatus.READY else None


async def say_no_book(message: Message, session: AsyncSession, user: User, i18n: Translator) -> None:
    has_books = await books_repo.latest_ready(session, user.id) is not None
    await message.answer(i18n("chat-pick-book" if has_books else "chat-no-book"))


async def book_titles(session: AsyncSession, citations: list[Citation]) -> dict[int, str]:
    ids = sorted({c.book_id for c in citations})
    rows = await session.execute(select(Book.id, Book.title, Book.file_name).where(Book.id.in_(ids)))
    return {row[0]: row[1] or row[2] for row in rows}
