"""Ingestion progress in the chat: one message per book, edited in place, ending in the book card.

Subscribed to `IngestionService` events for the life of the bot, so a book resumed after a restart
still updates the message recorded on it (books.chat_id / progress_message_id). Editing is paced by
`ThrottledEditor`; this module only maps Telegram's errors and renders text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import I18n, Translator
from bot.render import escape
from db.models import Book
from db.repositories import users
from handlers.library_ui import (
    PASSWORD_CODES,
    LibraryStates,
    card_keyboard,
    card_text,
    error_text,
    progress_text,
)
from services.ingestion.progress import DEFAULT_INTERVAL, MessageGone, RetryLater, ThrottledEditor
from services.ingestion.service import IngestionService, Stage

logger = logging.getLogger(__name__)


class LibraryProgress:
    """Renders ingestion events into the chat the book came from."""

    def __init__(
        self,
        i18n: I18n,
        session_factory: async_sessionmaker[AsyncSession],
        storage: BaseStorage,
        ingestion: IngestionService,
        *,
        bot: Bot | None = None,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.i18n = i18n
        self.sessions = session_factory
        self.storage = storage
        self.ingestion = ingestion
        self.bot = bot
        self.interval = interval
        self._editors: dict[tuple[int, int], ThrottledEditor] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Cards shown while their book's dense vectors were still coming: book id -> (chat, message).
        self._words_only: dict[int, tuple[int, int]] = {}
        # Cards the user has changed since (left as they are); the rest are found from the book itself,
        # since with workers the process adding dense vectors may not be the one that showed the card.
        self._left_alone: set[int] = set()
        self._unsubscribe = ingestion.subscribe(self.on_event)

    # ---------------------------------------------------------------- editors

    def editor(self, chat_id: int, message_id: int, shown: str | None = None) -> ThrottledEditor:
        """The one editor of this message (created on first use)."""
        key = (chat_id, message_id)
        editor = self._editors.get(key)
        if editor is None:
            editor = ThrottledEditor(
                self._edit_func(chat_id, message_id),
                interval=self.interval,
                shown=(shown, None) if shown is not None else None,
            )
            self._editors[key] = editor
        return editor

    def _edit_func(self, chat_id: int, message_id: int) -> Any:
        async def edit(text: str, markup: InlineKeyboardMarkup | None) -> None:
            assert self.bot is not None
            try:
                await self.bot.edit_message_text(
                    text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
            except TelegramRetryAfter as error:
                raise RetryLater(error.retry_after) from error
            except TelegramBadRequest as error:
                message = error.message.lower()
                if "not modified" in message:
                    return  # already shows exactly this
                if "not found" in message or "can't be edited" in message:
                    raise MessageGone from error
                raise
            except TelegramForbiddenError as error:
                raise MessageGone from error

        return edit

    async def show_final(
        self, chat_id: int, message_id: int | None, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Put the final text into the progress message, or send it anew when that message is gone."""
        shown = False
        if message_id is not None:
            editor = self.editor(chat_id, message_id)
            shown = await editor.finish(text, markup)
            self._editors.pop((chat_id, message_id), None)
        if not shown and self.bot is not None:
            with contextlib.suppress(TelegramAPIError):
                await self.bot.send_message(chat_id, text, reply_markup=markup)

    # ---------------------------------------------------------------- events

    async def on_event(self, book: Book, stage: str, fraction: float) -> None:
        if self.bot is None or book.chat_id is None or book.progress_message_id is None:
            return
        if stage in (Stage.READY, Stage.FAILED, Stage.DENSE):
            # Finishing waits for the pace; the ingestion worker must not.
            finish = self._refresh_card(book) if stage == Stage.DENSE else self._finish(book, stage)
            task = asyncio.create_task(finish)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        i18n = await self._translator(book.user_id)
        name = book.title or book.file_name
        self.editor(book.chat_id, book.progress_message_id).update(progress_text(i18n, stage, fraction, name))

    async def _finish(self, book: Book, stage: str) -> None:
        assert book.chat_id is not None
        try:
            i18n = await self._translator(book.user_id)
            state = self._state(book.chat_id, book.user_id)
            if stage == Stage.READY:
                active = await self.ingestion.active_book_id(book.user_id) == book.id
                await self._leave_password_state(state, book.id)
                text = card_text(i18n, book, active=active, just_ready=True)
                markup = card_keyboard(i18n, book, full=False)
                if book.dense_pending and book.progress_message_id is not None:
                    self._words_only[book.id] = (book.chat_id, book.progress_message_id)
            elif book.error_code in PASSWORD_CODES:
                await state.set_state(LibraryStates.password)
                await state.set_data({"book_id": book.id, "name": book.file_name})
                key = (
                    "library-password-prompt"
                    if book.error_code == "password_required"
                    else "library-password-wrong"
                )
                text, markup = i18n(key, name=escape(book.file_name)), None
            else:
                await self._leave_password_state(state, book.id)
                text, markup = error_text(i18n, book.error_code or "internal", book.error_details), None
            await self.show_final(book.chat_id, book.progress_message_id, text, markup)
        except Exception:
            logger.exception("could not show the outcome of book %s", book.id)

    async def _refresh_card(self, book: Book) -> None:
        """The card shown when the book turned ready said search by meaning was still being prepared:
        now that its dense vectors are in, show it without that line (in place; never a new message)."""
        where = self._words_only.pop(book.id, None)
        if book.id in self._left_alone:
            self._left_alone.discard(book.id)
            return
        if where is None and book.chat_id is not None and book.progress_message_id is not None:
            where = (book.chat_id, book.progress_message_id)
        if where is None:
            return
        pending = self._editors.get(where)
        if pending is not None:  # the ready card still on its way (paced): after it, not before
            await pending.flush()
        try:
            i18n = await self._translator(book.user_id)
            active = await self.ingestion.active_book_id(book.user_id) == book.id
            text = card_text(i18n, book, active=active, just_ready=True)
            if self.bot is not None:
                chat_id, message_id = where
                with contextlib.suppress(TelegramAPIError):  # gone or unchanged: nothing to bring up to date
                    await self.bot.edit_message_text(
                        text=text,
                        chat_id=chat_id,
                        message_id=message_id,
                        reply_markup=card_keyboard(i18n, book, full=False),
                    )
        except Exception:
            logger.exception("could not update the card of book %s", book.id)

    def forget_card(self, book_id: int) -> None:
        """The user changed the card (e.g. asked to delete the book): leave it as they left it."""
        self._words_only.pop(book_id, None)
        self._left_alone.add(book_id)

    async def _leave_password_state(self, state: FSMContext, book_id: int) -> None:
        if (
            await state.get_state() == LibraryStates.password.state
            and (await state.get_data()).get("book_id") == book_id
        ):
            await state.clear()

    def _state(self, chat_id: int, user_id: int) -> FSMContext:
        assert self.bot is not None
        return FSMContext(self.storage, StorageKey(bot_id=self.bot.id, chat_id=chat_id, user_id=user_id))

    async def _translator(self, user_id: int) -> Translator:
        async with self.sessions() as session:
            user = await users.get(session, user_id)
        return self.i18n.translator(user.language if user is not None else self.i18n.default)

    async def close(self) -> None:
        self._unsubscribe()
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)
        for editor in self._editors.values():
            await editor.close()
        self._editors.clear()
