"""/summary (and the book card's "summary" button): stored summaries, the cost estimate and confirmation
before a whole-book LLM run, chapter summaries (the chapters picked from pages); and study mode's
questions and checks. An LLM chapter summary or study question is charged like an answer, and asks first
when it may cost more than BILLING_CONFIRM_ABOVE_CREDITS."""

from __future__ import annotations

import contextlib
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import escape
from db.models import Book, BookStatus, User
from db.repositories import books as books_repo
from handlers.billing import refusal_reply
from handlers.callbacks import BookCb
from handlers.chat_ui import (
    ChaptersCb,
    ChatStates,
    StudyCb,
    SummaryCb,
    chapter_name,
    chapters_keyboard,
    estimate_html,
    estimate_keyboard,
    parts,
    study_check_html,
    study_keyboard,
    study_question_html,
    summary_html,
    summary_keyboard,
)
from handlers.engagement import count_reading
from services.chat.charging import ChargeRefused
from services.chat.study import StudyQuestion, StudyService
from services.chat.summaries import SummaryService, book_chapters
from services.engagement.streaks import ReadingStreaks

router = Router(name=__name__)


# --- summaries -------------------------------------------------------------------------------------


@router.message(Command("summary"))
async def cmd_summary(
    message: Message, bot: Bot, user: User, session: AsyncSession, i18n: Translator, summaries: SummaryService,
    billing: Any = None, streaks: ReadingStreaks | None = None,
) -> None:  # fmt: skip
    book = await ready_book(session, user, user.active_book_id)
    if book is None:
        await message.answer(
            i18n("chat-pick-book" if await books_repo.latest_ready(session, user.id) else "chat-no-book")
        )
        return
    await offer_summary(message, bot, book, user, session, i18n, summaries, billing)
    await count_reading(message, user, session, i18n, streaks)


@router.callback_query(BookCb.filter(F.action == "summary"))
async def on_card_summary(
    query: CallbackQuery, callback_data: BookCb, bot: Bot, user: User, session: AsyncSession, i18n: Translator,
    summaries: SummaryService, billing: Any = None, streaks: ReadingStreaks | None = None,
) -> None:  # fmt: skip
    book = await ready_book(session, user, callback_data.book_id)
    if book is None:
        await query.answer(i18n("chat-book-unavailable"))
        return
    await query.answer()
    if isinstance(query.message, Message):
        await offer_summary(query.message, bot, book, user, session, i18n, summaries, billing)
        await count_reading(query.message, user, session, i18n, streaks)


async def offer_summary(
    message: Message, bot: Bot, book: Book, user: User, session: AsyncSession, i18n: Translator,
    summaries: SummaryService, billing: Any,
) -> None:  # fmt: skip
    """The stored summary; else (LLM) the estimate to confirm; else (offline) the extractive one now."""
    stored = await summaries.stored(session, book.id)
    if stored is not None:
        await _send(message, summary_html(i18n, book.display_title, stored), summary_keyboard(i18n, book.id))
        return
    if summaries.has_llm:
        estimate = await summaries.estimate(session, book.id)
        credits = (
            billing.quote_summary() if billing is not None and hasattr(billing, "quote_summary") else None
        )
        await message.answer(
            estimate_html(i18n, book.display_title, estimate, credits),
            reply_markup=estimate_keyboard(i18n, book.id),
        )
        return
    await _summarise(message, bot, book, user, session, i18n, summaries, chapter=None)


@router.callback_query(SummaryCb.filter(F.action == "go"))
async def on_summary_confirm(
    query: CallbackQuery, callback_data: SummaryCb, bot: Bot, user: User, session: AsyncSession, i18n: Translator,
    summaries: SummaryService,
) -> None:  # fmt: skip
    book = await ready_book(session, user, callback_data.book_id)
    if book is None:
        await query.answer(i18n("chat-book-unavailable"))
        return
    await query.answer()
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramAPIError):
            await query.message.edit_reply_markup(reply_markup=None)  # one confirmation, one run
        await _summarise(query.message, bot, book, user, session, i18n, summaries, chapter=None)


@router.callback_query(SummaryCb.filter(F.action == "cancel"))
async def on_summary_cancel(query: CallbackQuery, i18n: Translator) -> None:
    await query.answer(i18n("summary-cancelled"))
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramAPIError):
            await query.message.edit_reply_markup(reply_markup=None)


@router.callback_query(SummaryCb.filter(F.action == "chapters"))
async def on_summary_chapters(
    query: CallbackQuery, callback_data: SummaryCb, user: User, session: AsyncSession, i18n: Translator,
    summaries: SummaryService,
) -> None:  # fmt: skip
    book = await ready_book(session, user, callback_data.book_id)
    await query.answer()
    if book is None or not isinstance(query.message, Message):
        return
    chapters = await summaries.chapters(session, book.id)
    if not chapters:
        await query.message.answer(i18n("summary-no-chapters"))
        return
    await query.message.answer(
        i18n("summary-chapters"), reply_markup=chapters_keyboard(i18n, chapters, book.id)
    )


@router.callback_query(ChaptersCb.filter())
async def on_chapters_page(
    query: CallbackQuery, callback_data: ChaptersCb, user: User, session: AsyncSession, i18n: Translator,
    summaries: SummaryService,
) -> None:  # fmt: skip
    """Another page of the chapter picker, in the same message."""
    book = await ready_book(session, user, callback_data.book_id)
    await query.answer()
    if book is None or not isinstance(query.message, Message):
        return
    reading = callback_data.purpose == "read"  # every chapter, to say how far the reader has got
    chapters = await (book_chapters(session, book.id) if reading else summaries.chapters(session, book.id))
    study = callback_data.purpose == "study"
    markup = chapters_keyboard(i18n, chapters, book.id, study=study, reading=reading, page=callback_data.page)
    with contextlib.suppress(TelegramAPIError):
        await query.message.edit_reply_markup(reply_markup=markup)


@router.callback_query(SummaryCb.filter(F.action.in_({"chapter", "chapter_go"})))
async def on_summary_chapter(
    query: CallbackQuery, callback_data: SummaryCb, bot: Bot, user: User, session: AsyncSession, i18n: Translator,
    summaries: SummaryService, billing: Any = None,
) -> None:  # fmt: skip
    """A chapter's summary: stored, or made now (after a confirmation when the model may cost more than
    the threshold)."""
    book = await ready_book(session, user, callback_data.book_id)
    await query.answer()
    if book is None or not isinstance(query.message, Message):
        return
    key = callback_data.key
    stored = await summaries.stored(session, book.id, key)
    if stored is not None:
        await _send(query.message, summary_html(i18n, book.display_title, stored))
        return
    if callback_data.action == "chapter_go":
        with contextlib.suppress(TelegramAPIError):
            await query.message.edit_reply_markup(reply_markup=None)  # one confirmation, one run
    elif summaries.has_llm:
        estimate = await summaries.estimate(session, book.id, key)
        credits = await _price_to_confirm(
            billing, session, user, estimate.input_tokens, estimate.output_tokens
        )
        if credits is not None:
            label = next((c.label for c in await summaries.chapters(session, book.id) if c.key == key), "")
            label = chapter_name(i18n, label) if label else label
            go = SummaryCb(action="chapter_go", book_id=book.id, key=key)
            cancel = SummaryCb(action="cancel", book_id=book.id)
            await query.message.answer(
                i18n("summary-chapter-confirm", title=escape(label or book.display_title), credits=credits),
                reply_markup=_confirm_keyboard(
                    i18n("summary-button-confirm"), go.pack(), cancel.pack(), i18n
                ),
            )
            return
    await _summarise(query.message, bot, book, user, session, i18n, summaries, chapter=key, billing=billing)


async def _price_to_confirm(
    billing: Any, session: AsyncSession, user: User, input_tokens: int, output_tokens: int
) -> int | None:
    """The most this model work may cost, when that is above BILLING_CONFIRM_ABOVE_CREDITS (None: go ahead)."""
    if billing is None:
        return None
    credits: int = await billing.quote_model_work(
        session, user.id, input_tokens=input_tokens, output_tokens=output_tokens
    )
    await session.commit()
    return credits if billing.needs_confirmation(credits) else None


def _confirm_keyboard(label: str, go: str, cancel: str, i18n: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=label, callback_data=go),
                InlineKeyboardButton(text=i18n("summary-button-cancel"), callback_data=cancel),
            ]
        ]
    )


async def _refused(message: Message, i18n: Translator, billing: Any, refused: ChargeRefused) -> None:
    text, markup = refusal_reply(i18n, billing, refused.refusal)
    await message.answer(text, reply_markup=markup)


async def _summarise(
    message: Message, bot: Bot, book: Book, user: User, session: AsyncSession, i18n: Translator,
    summaries: SummaryService, *, chapter: str | None, billing: Any = None,
) -> None:  # fmt: skip
    await message.answer(i18n("summary-working", title=escape(book.display_title)))
    with contextlib.suppress(TelegramAPIError):
        await bot.send_chat_action(message.chat.id, ChatAction.TYPING)
    try:
        summary = await summaries.summarise(session, user_id=user.id, book_id=book.id, chapter=chapter)
    except ChargeRefused as refused:
        await _refused(message, i18n, billing, refused)
        return
    if summary is None:
        await message.answer(i18n("summary-empty"))
        return
    markup = summary_keyboard(i18n, book.id) if chapter is None else None
    await _send(message, summary_html(i18n, book.display_title, summary), markup)


# --- study -----------------------------------------------------------------------------------------


async def offer_study(
    message: Message,
    user: User,
    session: AsyncSession,
    i18n: Translator,
    state: FSMContext,
    summaries: SummaryService,
) -> None:
    """Study mode was chosen: which chapter to be asked about."""
    book = await ready_book(session, user, user.active_book_id)
    if book is None:
        await message.answer(
            i18n("chat-pick-book" if await books_repo.latest_ready(session, user.id) else "chat-no-book")
        )
        return
    await state.clear()
    chapters = await summaries.chapters(session, book.id)
    await message.answer(
        i18n("study-choose", title=escape(book.display_title)),
        reply_markup=chapters_keyboard(i18n, chapters, book.id, study=True),
    )


@router.callback_query(StudyCb.filter(F.action.in_({"ask", "go"})))
async def on_study_ask(
    query: CallbackQuery, callback_data: StudyCb, bot: Bot, user: User, session: AsyncSession, i18n: Translator,
    study: StudyService, state: FSMContext, billing: Any = None,
) -> None:  # fmt: skip
    """A question on the chapter (after a confirmation when the model may cost more than the threshold)."""
    book = await ready_book(session, user, callback_data.book_id)
    await query.answer()
    if book is None or not isinstance(query.message, Message):
        return
    if callback_data.action == "go":
        with contextlib.suppress(TelegramAPIError):
            await query.message.edit_reply_markup(reply_markup=None)  # one confirmation, one question
    elif study.has_llm:
        credits = await _price_to_confirm(billing, session, user, *await study.most_tokens(session, book.id))
        if credits is not None:
            go = StudyCb(action="go", book_id=book.id, key=callback_data.key)
            await query.message.answer(
                i18n("study-confirm", credits=credits),
                reply_markup=_confirm_keyboard(
                    i18n("study-button-confirm"), go.pack(), StudyCb(action="stop").pack(), i18n
                ),
            )
            return
    with contextlib.suppress(TelegramAPIError):
        await bot.send_chat_action(query.message.chat.id, ChatAction.TYPING)
    try:
        question = await study.question(
            session, user_id=user.id, book_id=book.id, chapter=callback_data.key or None
        )
    except ChargeRefused as refused:
        await _refused(query.message, i18n, billing, refused)
        return
    if question is None:
        await query.message.answer(i18n("study-none"))
        return
    await state.set_state(ChatStates.study)
    await state.update_data(question=question.as_dict(), key=callback_data.key)
    await query.message.answer(study_question_html(i18n, question))


@router.message(ChatStates.study, F.text, ~F.text.startswith("/"))
async def on_study_reply(
    message: Message, user: User, session: AsyncSession, i18n: Translator, study: StudyService,
    state: FSMContext, billing: Any = None, streaks: ReadingStreaks | None = None,
) -> None:  # fmt: skip
    data = await state.get_data()
    await state.set_state(None)
    if "question" not in data:
        return
    question = StudyQuestion.from_dict(data["question"])
    try:
        check = await study.check(question, message.text or "", user_id=user.id, session=session)
    except ChargeRefused as refused:
        await state.set_state(ChatStates.study)  # the same question can be answered after a top-up
        await _refused(message, i18n, billing, refused)
        return
    await message.answer(
        study_check_html(i18n, check),
        reply_markup=study_keyboard(i18n, question.book_id, data.get("key", "")),
    )
    await count_reading(message, user, session, i18n, streaks)


@router.callback_query(StudyCb.filter(F.action == "stop"))
async def on_study_stop(
    query: CallbackQuery, user: User, session: AsyncSession, i18n: Translator, state: FSMContext
) -> None:
    await state.clear()
    user.settings = {**(user.settings or {}), "chat_mode": "answer"}
    await session.commit()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(i18n("study-stopped"))


# --- helpers ---------------------------------------------------------------------------------------


async def ready_book(session: AsyncSession, user: User, book_id: int | None) -> Book | None:
    """The user's book with this id when it is ready, else None."""
    if book_id is None:
        return None
    book = await books_repo.get_for_user(session, user.id, book_id)
    return book if book is not None and book.status == BookStatus.READY else None


async def _send(message: Message, html: str, markup: Any = None) -> None:
    pieces = parts(html)
    for index, piece in enumerate(pieces):
        await message.answer(piece, reply_markup=markup if index == len(pieces) - 1 else None)
