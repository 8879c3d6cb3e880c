"""Callback data shared between features, so that one feature's buttons can open another's handlers.

BookCb is the book card's buttons. The library (handlers/library.py) handles `open`, `activate`,
`rename`, `delete`, `delete_yes` and `delete_no`; the chat feature handles `ask` and `summary`.
Packed: `book:<action>:<book_id>`, e.g. `book:ask:42`. ShelfCb pages through /books: `shelf:<page>`.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class BookCb(CallbackData, prefix="book"):
    action: str  # open | ask | summary | activate | rename | delete | delete_yes | delete_no
    book_id: int


class ShelfCb(CallbackData, prefix="shelf"):
    page: int  # 0-based
