"""What the library shows: progress text, the book card, the shelf, error messages, and its FSM states."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from aiogram import F
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.render import escape, progress_bar
from db.models import Book, BookStatus
from handlers.callbacks import BookCb, ShelfCb

SHELF_PAGE_SIZE = 8
MiB = 1024 * 1024
TELEGRAM_CLOUD_DOWNLOAD_LIMIT = 20 * MiB
PASSWORD_CODES = ("password_required", "wrong_password")
_FORMAT_NAMES = {
    "pdf": "PDF",
    "epub": "EPUB",
    "fb2": "FB2",
    "docx": "DOCX",
    "txt": "TXT",
    "markdown": "Markdown",
    "html": "HTML",
}
_BUTTON_TITLE = 48


class LibraryStates(StatesGroup):
    password = State()  # data: book_id, name
    rename = State()  # data: book_id


def progress_text(i18n: Translator, stage: str, fraction: float, name: str) -> str:
    fraction = min(max(fraction, 0.0), 1.0)
    return i18n(
        "library-progress",
        stage=i18n(f"library-stage-{stage}"),
        name=escape(name),
        bar=progress_bar(fraction),
        percent=int(fraction * 100),
    )


def card_text(i18n: Translator, book: Book, *, active: bool, just_ready: bool = False) -> str:
    """Title, author, size and state; `just_ready` for the card that ends the upload."""
    lines = [i18n("library-card-title", title=escape(book.display_title))]
    if book.author:
        lines.append(i18n("library-card-author", author=escape(book.author)))
    facts = []
    if book.pages:
        facts.append(i18n("library-card-pages", pages=book.pages))
    elif book.chapters:
        facts.append(i18n("library-card-chapters", chapters=book.chapters))
    if book.chunks:
        facts.append(i18n("library-card-chunks", chunks=book.chunks))
    if facts:
        lines.append(" · ".join(facts))
    lines.append("")
    if book.status == BookStatus.READY:
        lines.append(i18n("library-card-active") if active and not just_ready else i18n("library-card-ready"))
        if book.dense_pending:
            lines.append(i18n("library-card-words-only"))
        if book.read_until is not None:
            percent = f"{book.read_until:.1f}".rstrip("0").rstrip(".")
            lines.append(i18n("library-card-read-until", percent=percent))
    elif book.status == BookStatus.FAILED and book.error_code in PASSWORD_CODES:
        lines.append(i18n("library-card-password"))
    else:
        lines.append(i18n("library-card-processing", percent=int((book.progress or 0) * 100)))
    return "\n".join(lines)


def _button(i18n: Translator, key: str, action: str, book_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=i18n(key), callback_data=BookCb(action=action, book_id=book_id).pack())


def card_keyboard(i18n: Translator, book: Book, *, full: bool, active: bool = False) -> InlineKeyboardMarkup:
    """The card's buttons: ask, summary, delete; from the shelf also make active, rename and back."""
    rows: list[list[InlineKeyboardButton]] = []
    if book.status == BookStatus.READY:
        rows.append(
            [
                _button(i18n, "library-button-ask", "ask", book.id),
                _button(i18n, "library-button-summary", "summary", book.id),
            ]
        )
        if full:
            row = [] if active else [_button(i18n, "library-button-activate", "activate", book.id)]
            row.append(_button(i18n, "library-button-rename", "rename", book.id))
            rows.append(row)
            rows.append([_button(i18n, "library-button-read-until", "read", book.id)])
    last = [_button(i18n, "library-button-delete", "delete", book.id)]
    if full:
        last.append(
            InlineKeyboardButton(text=i18n("library-button-shelf"), callback_data=ShelfCb(page=0).pack())
        )
    rows.append(last)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def delete_keyboard(i18n: Translator, book_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(i18n, "library-button-delete-yes", "delete_yes", book_id),
                _button(i18n, "library-button-delete-no", "delete_no", book_id),
            ]
        ]
    )


def shelf_pages(total: int) -> int:
    return max(1, math.ceil(total / SHELF_PAGE_SIZE))


def shelf_text(i18n: Translator, total: int, page: int) -> str:
    if total == 0:
        return i18n("library-shelf-empty")
    return "\n".join(
        [
            i18n("library-shelf-title", count=total),
            i18n("library-shelf-page", page=page + 1, pages=shelf_pages(total)),
        ]
    )


def _shelf_label(book: Book, active_id: int | None) -> str:
    if book.status == BookStatus.READY:
        mark = "⭐" if book.id == active_id else "📖"
    elif book.status == BookStatus.FAILED:
        mark = "🔒"
    else:
        mark = "⏳"
    title = book.display_title
    if len(title) > _BUTTON_TITLE:
        title = title[: _BUTTON_TITLE - 1] + "…"
    author = f" — {book.author}" if book.author and len(title) + len(book.author) < _BUTTON_TITLE else ""
    return f"{mark} {title}{author}"


def shelf_keyboard(
    i18n: Translator, books: Sequence[Book], *, page: int, total: int, active_id: int | None
) -> InlineKeyboardMarkup | None:
    if not books:
        return None
    rows = [
        [
            InlineKeyboardButton(
                text=_shelf_label(book, active_id),
                callback_data=BookCb(action="open", book_id=book.id).pack(),
            )
        ]
        for book in books
    ]
    pages = shelf_pages(total)
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(
                InlineKeyboardButton(
                    text=i18n("library-button-prev"), callback_data=ShelfCb(page=page - 1).pack()
                )
            )
        if page < pages - 1:
            nav.append(
                InlineKeyboardButton(
                    text=i18n("library-button-next"), callback_data=ShelfCb(page=page + 1).pack()
                )
            )
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def megabytes(size: int | float) -> str:
    value = size / MiB
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def error_key(code: str) -> str:
    return "library-error-" + code.replace("_", "-")


def error_text(i18n: Translator, code: str, details: dict[str, Any] | None = None) -> str:
    """The user's message for an error code from extraction, the service or a before-index hook."""
    details = dict(details or {})
    key = error_key(code)
    if key not in i18n.i18n.keys.get(i18n.locale, set()):
        return i18n("library-error-rejected")
    values: dict[str, Any] = {}
    if code == "unsupported_type":
        values["detected"] = escape(str(details.get("detected") or "?"))
    elif code in ("corrupt_file", "no_text"):
        fmt = str(details.get("format") or "")
        values["format"] = _FORMAT_NAMES.get(fmt, escape(fmt.upper()))
    elif code == "too_large":
        values["size"] = megabytes(int(details.get("size") or 0))
        values["limit"] = megabytes(int(details.get("limit") or 0))
    elif code == "pdf_active_content":
        features = details.get("features") or []
        values["features"] = escape(", ".join(str(f).replace("_", " ") for f in features) or "?")
    elif code == "no_text_layer":
        values["pages"] = int(details.get("pages") or 0)
    elif code == "too_many_pages":
        values["pages"] = int(details.get("pages") or 0)
        values["limit"] = int(details.get("limit") or 0)
    else:
        # Codes from other features' hooks: their details are the message's arguments.
        values = {
            name: escape(str(value)) if isinstance(value, str) else value for name, value in details.items()
        }
    return i18n(key, **values)


# Sound and video, whether recorded in the chat or sent as files: never a book, so never downloaded.
SOUND_OR_VIDEO = (
    F.voice
    | F.video_note
    | F.audio
    | F.video
    | F.document.mime_type.startswith("audio/")
    | F.document.mime_type.startswith("video/")
)


def upload_refusal(i18n: Translator, size: int | None, *, max_bytes: int, local_api: bool) -> str | None:
    """Why a document of this size can't be taken, checked before downloading it (None: fine)."""
    if not size:
        return None
    if size > max_bytes:
        return i18n(error_key("too_large"), size=megabytes(size), limit=megabytes(max_bytes))
    if not local_api and size > TELEGRAM_CLOUD_DOWNLOAD_LIMIT:
        return i18n("library-too-big-for-telegram", size=megabytes(size))
    return None
