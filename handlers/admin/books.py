"""Books: the ingestion queue, failed books with their errors, reprocess and delete."""

from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import escape
from db.models import Book, BookStatus
from handlers.admin.callbacks import BookAction, BookCb, MenuCb, Section, UserAction, UserCb
from handlers.admin.common import (
    PAGE_SIZE,
    Keyboard,
    back_row,
    button,
    clamp_page,
    error_text,
    keyboard,
    leave_input,
    pager,
    show,
    when,
)
from services.admin.actor import Actor, AdminError
from services.admin.service import AdminService

router = Router(name=__name__)

STATUS_ICON = {
    BookStatus.PENDING: "⏳",
    BookStatus.PROCESSING: "⚙️",
    BookStatus.READY: "✅",
    BookStatus.FAILED: "❌",
}


def _label(book: Book) -> str:
    icon = STATUS_ICON.get(book.status, "•")  # type: ignore[call-overload]
    return f"{icon} #{book.id} {book.display_title}"[:60]


@router.callback_query(MenuCb.filter(F.section == Section.BOOKS))
@router.callback_query(BookCb.filter(F.action == BookAction.SUMMARY))
async def on_books(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, admin: AdminService, i18n: Translator
) -> None:
    await leave_input(state)
    await query.answer()
    _, queued = await admin.books.queue(session, limit=0)
    _, failed = await admin.books.failed(session, limit=0)
    await show(
        query,
        i18n("admin-books-title", queued=queued, failed=failed),
        keyboard(
            [
                button(i18n("admin-books-button-queue", count=queued), BookCb(action=BookAction.QUEUE)),
                button(i18n("admin-books-button-failed", count=failed), BookCb(action=BookAction.FAILED)),
            ],
            back_row(i18n),
        ),
    )


@router.callback_query(BookCb.filter(F.action.in_({BookAction.QUEUE, BookAction.FAILED})))
async def on_book_list(
    query: CallbackQuery, callback_data: BookCb, session: AsyncSession, admin: AdminService, i18n: Translator
) -> None:
    await query.answer()
    listing = admin.books.queue if callback_data.action == BookAction.QUEUE else admin.books.failed
    _, total = await listing(session, limit=0)
    page = clamp_page(callback_data.page, total)
    books, total = await listing(session, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    rows = [[button(_label(b), BookCb(action=BookAction.CARD, book_id=b.id, page=page))] for b in books]
    key = "admin-books-queue" if callback_data.action == BookAction.QUEUE else "admin-books-failed"
    lines = [i18n(key, count=total)]
    if callback_data.action == BookAction.FAILED:
        lines += [
            i18n("admin-books-failed-line", id=str(b.id), error=escape(b.error_code or "—")) for b in books
        ]
    await show(
        query,
        "\n".join(lines),
        keyboard(
            *rows,
            pager(page, total, lambda p: BookCb(action=callback_data.action, page=p)),
            back_row(i18n, BookCb(action=BookAction.SUMMARY)),
        ),
    )


def book_text(i18n: Translator, book: Book, *, file_days: int = 0, kept: bool = False) -> str:
    details = ", ".join(f"{k}={v}" for k, v in (book.error_details or {}).items())
    text = i18n(
        "admin-book-card",
        id=str(book.id),
        title=escape(book.display_title),
        user=str(book.user_id),
        status=i18n(f"admin-book-status-{book.status}"),
        stage=book.stage or "—",
        progress=round((book.progress or 0) * 100),
        pages=book.pages or 0,
        chunks=book.chunks or 0,
        attempts=book.attempts or 0,
        error=escape(book.error_code or "—"),
        details=escape(details[:300] or "—"),
        created=when(book.created_at),
        updated=when(book.updated_at),
    )
    if book.status != BookStatus.FAILED:
        return text
    if kept:
        return (
            text
            + "\n"
            + i18n("admin-book-file-kept", until=when(book.updated_at + timedelta(days=file_days)))
        )
    return text + "\n" + i18n("admin-book-file-gone", days=file_days)


def book_keyboard(i18n: Translator, book: Book, page: int, *, can_reprocess: bool = False) -> Keyboard:
    back = BookCb(
        action=BookAction.FAILED if book.status == BookStatus.FAILED else BookAction.QUEUE, page=page
    )
    actions = [
        button(i18n("admin-book-button-delete"), BookCb(action=BookAction.DELETE, book_id=book.id, page=page))
    ]
    if can_reprocess:
        actions.insert(
            0,
            button(
                i18n("admin-book-button-retry"), BookCb(action=BookAction.RETRY, book_id=book.id, page=page)
            ),
        )
    return keyboard(
        actions,
        [button(i18n("admin-book-button-owner"), UserCb(action=UserAction.CARD, user_id=book.user_id))],
        back_row(i18n, back),
    )


async def _show_book(
    query: CallbackQuery,
    session: AsyncSession,
    admin: AdminService,
    i18n: Translator,
    book_id: int,
    page: int,
) -> None:
    book = await admin.books.get(session, book_id)
    if book is None:
        await show(
            query, i18n("admin-error-not_found"), keyboard(back_row(i18n, BookCb(action=BookAction.SUMMARY)))
        )
        return
    kept = admin.books.can_reprocess(book)
    days = admin.deps.settings.failed_book_file_days
    await show(
        query,
        book_text(i18n, book, file_days=days, kept=kept),
        book_keyboard(i18n, book, page, can_reprocess=kept),
    )


@router.callback_query(BookCb.filter(F.action == BookAction.CARD))
async def on_book(
    query: CallbackQuery, callback_data: BookCb, session: AsyncSession, admin: AdminService, i18n: Translator
) -> None:
    await query.answer()
    await _show_book(query, session, admin, i18n, callback_data.book_id, callback_data.page)


@router.callback_query(BookCb.filter(F.action == BookAction.RETRY))
async def on_retry(
    query: CallbackQuery,
    callback_data: BookCb,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    try:
        await admin.books.reprocess(session, actor, callback_data.book_id)
    except AdminError as error:
        await query.answer(error_text(i18n, error), show_alert=True)
        return
    await query.answer(i18n("admin-book-retry-done"))
    await _show_book(query, session, admin, i18n, callback_data.book_id, callback_data.page)


@router.callback_query(BookCb.filter(F.action == BookAction.DELETE))
async def on_delete(query: CallbackQuery, callback_data: BookCb, i18n: Translator) -> None:
    await query.answer()
    await show(
        query,
        i18n("admin-book-delete-confirm", id=str(callback_data.book_id)),
        keyboard(
            [
                button(
                    i18n("admin-book-button-delete-yes"),
                    BookCb(
                        action=BookAction.DELETE_YES, book_id=callback_data.book_id, page=callback_data.page
                    ),
                )
            ],
            back_row(
                i18n,
                BookCb(action=BookAction.CARD, book_id=callback_data.book_id, page=callback_data.page),
                "admin-button-cancel",
            ),
        ),
    )


@router.callback_query(BookCb.filter(F.action == BookAction.DELETE_YES))
async def on_delete_yes(
    query: CallbackQuery,
    callback_data: BookCb,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    try:
        await admin.books.delete(session, actor, callback_data.book_id)
    except AdminError as error:
        await query.answer(error_text(i18n, error), show_alert=True)
        return
    await query.answer(i18n("admin-book-delete-done"))
    await show(
        query,
        i18n("admin-book-deleted", id=str(callback_data.book_id)),
        keyboard(back_row(i18n, BookCb(action=BookAction.SUMMARY))),
    )
