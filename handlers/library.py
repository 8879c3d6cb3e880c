"""Books in and the shelf: receive a document, show its progress, /books, open, activate, rename, delete.

The book card's "ask" and "summary" buttons (BookCb actions `ask`, `summary`) belong to the chat feature.
"""

from __future__ import annotations

import contextlib
import logging

import aiohttp
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, Update

from bot.i18n import Translator
from bot.render import escape
from bot.settings import Settings
from db.models import Book, BookStatus, User
from handlers.callbacks import BookCb, ShelfCb
from handlers.library_download import DownloadFailed, TooBigForTelegram, fetch_document
from handlers.library_progress import LibraryProgress
from handlers.library_ui import (
    SHELF_PAGE_SIZE,
    SOUND_OR_VIDEO,
    LibraryStates,
    MiB,
    card_keyboard,
    card_text,
    delete_keyboard,
    error_text,
    megabytes,
    progress_text,
    shelf_keyboard,
    shelf_pages,
    shelf_text,
    upload_refusal,
)
from handlers.screens import edit_screen
from services.ingestion.errors import IngestionError
from services.ingestion.service import IngestionService, UploadNotStored
from services.notifications.alerts import AdminAlerts

logger = logging.getLogger(__name__)
router = Router(name=__name__)

NOT_A_COMMAND = ~F.text.startswith("/")


# ---------------------------------------------------------------- books in


@router.message(F.document, ~SOUND_OR_VIDEO)
async def on_document(
    message: Message,
    bot: Bot,
    user: User,
    i18n: Translator,
    settings: Settings,
    ingestion: IngestionService,
    library_progress: LibraryProgress,
    event_update: Update,
    alerts: AdminAlerts | None = None,
) -> None:
    document = message.document
    assert document is not None
    max_bytes = settings.max_file_mb * MiB
    refusal = upload_refusal(
        i18n, document.file_size, max_bytes=max_bytes, local_api=settings.telegram_api_is_local
    )
    if refusal is not None:
        await message.answer(refusal)
        return
    name = document.file_name or "book"
    shown = progress_text(i18n, "download", 0.0, name)
    progress = await message.answer(shown)
    chat_id, progress_id = message.chat.id, progress.message_id
    editor = library_progress.editor(chat_id, progress_id, shown=shown)
    try:
        source = await fetch_document(
            bot,
            document,
            max_bytes=max_bytes,
            on_progress=lambda fraction: editor.update(progress_text(i18n, "download", fraction, name)),
        )
        # Queued below, once this process's last edit of the progress message is out: a worker may
        # start editing it at once, and an edit of ours landing later would undo its progress.
        submission = await ingestion.submit(
            user.id, source, name, chat_id=chat_id, message_id=progress_id, queue=False
        )
    except TooBigForTelegram:
        await library_progress.show_final(
            chat_id,
            progress_id,
            i18n("library-too-big-for-telegram", size=megabytes(document.file_size or 0)),
        )
    except IngestionError as error:
        await library_progress.show_final(chat_id, progress_id, error_text(i18n, error.code, error.details))
    except UploadNotStored as error:
        if alerts is not None:
            alerts.error(event_update.update_id, error)
        await library_progress.show_final(chat_id, progress_id, i18n("library-upload-not-stored"))
    except (TelegramAPIError, aiohttp.ClientError, DownloadFailed, OSError):
        logger.warning("download of %s failed", document.file_id, exc_info=True)
        await library_progress.show_final(chat_id, progress_id, i18n("library-download-failed"))
    else:
        book = submission.book
        if submission.outcome != "duplicate":
            try:
                await editor.finish(progress_text(i18n, "queued", 0.0, name))
            finally:
                await ingestion.queue(book.id)
        elif book.status == BookStatus.READY:
            active = await ingestion.active_book_id(user.id) == book.id
            text = i18n("library-duplicate") + "\n\n" + card_text(i18n, book, active=active)
            await library_progress.show_final(
                chat_id, progress_id, text, card_keyboard(i18n, book, full=False)
            )
        else:
            await library_progress.show_final(chat_id, progress_id, i18n("library-duplicate-processing"))


@router.message(F.photo)
async def on_photo(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("library-not-a-book-photo"))


@router.message(SOUND_OR_VIDEO)
async def on_sound_or_video(message: Message, i18n: Translator) -> None:
    """Voice questions are not understood yet, and sound or video is never a book: say so, keep nothing."""
    spoken = message.voice is not None or message.video_note is not None
    await message.answer(i18n("library-voice-unsupported" if spoken else "library-not-a-book-media"))


@router.message(Command("cancel"), StateFilter(LibraryStates))
async def on_cancel(message: Message, state: FSMContext, i18n: Translator) -> None:
    await state.clear()
    await message.answer(i18n("library-cancelled"))


@router.message(LibraryStates.password, F.text, NOT_A_COMMAND)
async def on_password(
    message: Message,
    state: FSMContext,
    user: User,
    i18n: Translator,
    ingestion: IngestionService,
    library_progress: LibraryProgress,
) -> None:
    book_id = int((await state.get_data()).get("book_id", 0))
    password = message.text or ""
    # The password should not stay in the chat history.
    with contextlib.suppress(TelegramAPIError):
        await message.delete()
    shown = i18n("library-password-checking")
    progress = await message.answer(shown)
    library_progress.editor(message.chat.id, progress.message_id, shown=shown)
    book = await ingestion.retry(
        user.id, book_id, password=password, chat_id=message.chat.id, message_id=progress.message_id
    )
    if book is None:
        current = await ingestion.get(user.id, book_id)
        if current is not None and not current.is_final:
            # Still trying the previous password; its outcome lands in the earlier message.
            await library_progress.show_final(
                message.chat.id, progress.message_id, i18n("library-duplicate-processing")
            )
            return
        await state.clear()
        await library_progress.show_final(
            message.chat.id, progress.message_id, i18n("library-password-not-waiting")
        )


# ---------------------------------------------------------------- the shelf


@router.message(Command("books"))
async def cmd_books(message: Message, user: User, i18n: Translator, ingestion: IngestionService) -> None:
    text, markup = await _shelf(user, i18n, ingestion, page=0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(ShelfCb.filter())
async def on_shelf_page(
    query: CallbackQuery, callback_data: ShelfCb, user: User, i18n: Translator, ingestion: IngestionService
) -> None:
    await query.answer()
    text, markup = await _shelf(user, i18n, ingestion, page=max(0, callback_data.page))
    await edit_screen(query, text, markup)


async def _shelf(
    user: User, i18n: Translator, ingestion: IngestionService, *, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    books, total = await ingestion.shelf(user.id, offset=page * SHELF_PAGE_SIZE, limit=SHELF_PAGE_SIZE)
    if not books and total:
        page = shelf_pages(total) - 1
        books, total = await ingestion.shelf(user.id, offset=page * SHELF_PAGE_SIZE, limit=SHELF_PAGE_SIZE)
    # The user's row was read with this update: its active book is current.
    return shelf_text(i18n, total, page), shelf_keyboard(
        i18n, books, page=page, total=total, active_id=user.active_book_id
    )


@router.callback_query(BookCb.filter(F.action == "open"))
async def on_open(
    query: CallbackQuery, callback_data: BookCb, user: User, i18n: Translator, ingestion: IngestionService
) -> None:
    book = await _book_or_say(query, callback_data, user, i18n, ingestion)
    if book is not None:
        await query.answer()
        await _show_card(query, book, user, i18n, ingestion)


@router.callback_query(BookCb.filter(F.action == "activate"))
async def on_activate(
    query: CallbackQuery, callback_data: BookCb, user: User, i18n: Translator, ingestion: IngestionService
) -> None:
    book = await ingestion.set_active(user.id, callback_data.book_id)
    if book is None:
        await query.answer(i18n("library-not-found"))
        return
    await query.answer(i18n("library-activated"))
    await _show_card(query, book, user, i18n, ingestion)


@router.callback_query(BookCb.filter(F.action == "rename"))
async def on_rename(
    query: CallbackQuery,
    callback_data: BookCb,
    user: User,
    i18n: Translator,
    ingestion: IngestionService,
    state: FSMContext,
) -> None:
    book = await _book_or_say(query, callback_data, user, i18n, ingestion)
    if book is None:
        return
    await query.answer()
    await state.set_state(LibraryStates.rename)
    await state.set_data({"book_id": book.id})
    if isinstance(query.message, Message):
        await query.message.answer(i18n("library-rename-prompt", title=escape(book.display_title)))


@router.message(LibraryStates.rename, F.text, NOT_A_COMMAND)
async def on_new_title(
    message: Message, state: FSMContext, user: User, i18n: Translator, ingestion: IngestionService
) -> None:
    book_id = int((await state.get_data()).get("book_id", 0))
    book = await ingestion.rename(user.id, book_id, message.text or "")
    if book is None:
        if await ingestion.get(user.id, book_id) is not None:
            await message.answer(i18n("library-rename-empty"))
            return
        await state.clear()
        await message.answer(i18n("library-not-found"))
        return
    await state.clear()
    active = await ingestion.active_book_id(user.id) == book.id
    await message.answer(
        i18n("library-renamed") + "\n\n" + card_text(i18n, book, active=active),
        reply_markup=card_keyboard(i18n, book, full=True, active=active),
    )


@router.callback_query(BookCb.filter(F.action == "delete"))
async def on_delete(
    query: CallbackQuery, callback_data: BookCb, user: User, i18n: Translator, ingestion: IngestionService,
    library_progress: LibraryProgress,
) -> None:  # fmt: skip
    book = await _book_or_say(query, callback_data, user, i18n, ingestion)
    if book is None:
        return
    await query.answer()
    library_progress.forget_card(book.id)  # the confirmation replaces the card: leave it be
    await edit_screen(
        query,
        i18n("library-delete-confirm", title=escape(book.display_title)),
        delete_keyboard(i18n, book.id),
    )


@router.callback_query(BookCb.filter(F.action == "delete_yes"))
async def on_delete_confirmed(
    query: CallbackQuery, callback_data: BookCb, user: User, i18n: Translator, ingestion: IngestionService
) -> None:
    book = await _book_or_say(query, callback_data, user, i18n, ingestion)
    if book is None:
        return
    await query.answer()
    await ingestion.delete(user.id, book.id)
    await edit_screen(query, i18n("library-deleted", title=escape(book.display_title)), None)


@router.callback_query(BookCb.filter(F.action == "delete_no"))
async def on_delete_cancelled(
    query: CallbackQuery, callback_data: BookCb, user: User, i18n: Translator, ingestion: IngestionService
) -> None:
    book = await _book_or_say(query, callback_data, user, i18n, ingestion)
    if book is not None:
        await query.answer()
        await _show_card(query, book, user, i18n, ingestion)


async def _book_or_say(
    query: CallbackQuery, callback_data: BookCb, user: User, i18n: Translator, ingestion: IngestionService
) -> Book | None:
    book = await ingestion.get(user.id, callback_data.book_id)
    if book is None:
        await query.answer(i18n("library-not-found"))
    return book


async def _show_card(
    query: CallbackQuery, book: Book, user: User, i18n: Translator, ingestion: IngestionService
) -> None:
    active = await ingestion.active_book_id(user.id) == book.id
    await edit_screen(
        query, card_text(i18n, book, active=active), card_keyboard(i18n, book, full=True, active=active)
    )
