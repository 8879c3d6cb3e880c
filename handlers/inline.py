"""Inline mode: `@bot words` in any chat searches the user's own shelf and offers passages to post.

The search is the one /search uses, always filtered to the asking user's books; nothing of another
user's shelf can come back."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import (
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InlineQueryResultUnion,
    InputTextMessageContent,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import escape
from db.models import User
from db.repositories import books as books_repo
from handlers.chat import book_titles
from handlers.chat_ui import clip, place_text
from services.chat import AnswerService
from services.search.sentences import reflow

router = Router(name="inline")

INLINE_K = 8
PASSAGE_CHARS = 3000  # a posted passage stays well inside Telegram's 4096 characters
DESCRIPTION_CHARS = 120
RECENT_BOOKS = 10
CACHE_SECONDS = 30  # short: the shelf changes as the user adds books
START_PARAMETER = "inline"


@router.inline_query()
async def on_inline_query(
    query: InlineQuery, user: User, session: AsyncSession, i18n: Translator, answers: AnswerService
) -> None:
    words = query.query.strip()
    books, total = await books_repo.shelf_page(session, user.id, offset=0, limit=RECENT_BOOKS)
    if total == 0:
        send_book = InlineQueryResultsButton(text=i18n("inline-no-books"), start_parameter=START_PARAMETER)
        await query.answer([], cache_time=CACHE_SECONDS, is_personal=True, button=send_book)
        return
    if not words:
        results: list[InlineQueryResultUnion] = [
            InlineQueryResultArticle(
                id=f"book-{book.id}",
                title=book.display_title,
                description=i18n("inline-book-hint"),
                input_message_content=InputTextMessageContent(
                    message_text=i18n("inline-book-message", title=escape(book.display_title)),
                    parse_mode="HTML",
                ),
            )
            for book in books
        ]
        await query.answer(results, cache_time=CACHE_SECONDS, is_personal=True)
        return
    limits = await books_repo.reading_limits(session, user.id)
    await session.commit()  # no connection is held while searching
    # No LLM translation here: the query changes with every letter typed (the word list still helps).
    found = await answers.retrieve(user.id, words, book_id=None, k=INLINE_K, limits=limits, translate=False)
    titles = await book_titles(session, found)
    found_results: list[InlineQueryResultUnion] = []
    seen: set[str] = set()
    for citation in found:
        result_id = f"p-{citation.book_id}-{citation.chunk_id}"
        if result_id in seen:
            continue
        seen.add(result_id)
        title = titles.get(citation.book_id, "?")
        passage = clip(reflow(citation.text), PASSAGE_CHARS)
        place = place_text(i18n, citation, title=title)
        found_results.append(
            InlineQueryResultArticle(
                id=result_id,
                title=clip(title, 100),
                description=clip(passage, DESCRIPTION_CHARS),
                input_message_content=InputTextMessageContent(
                    message_text=f"<blockquote>{escape(passage)}</blockquote>\n— <i>{place}</i>",
                    parse_mode="HTML",
                ),
            )
        )
    button = (
        None
        if found_results
        else InlineQueryResultsButton(text=i18n("inline-nothing"), start_parameter=START_PARAMETER)
    )
    await query.answer(found_results, cache_time=CACHE_SECONDS, is_personal=True, button=button)


@router.message(F.via_bot)
async def on_posted_via_bot(message: Message) -> None:
    """A passage the user posted through inline mode in the chat with the bot: it is not a question."""
