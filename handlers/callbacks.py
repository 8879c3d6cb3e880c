"""Callback data shared between features, so that one feature's buttons can open another's handlers.

BookCb is the book card's buttons. The library (handlers/library.py) handles `open`, `activate`,
`rename`, `delete`, `delete_yes` and `delete_no`; the chat feature handles `ask` and `summary`.
Packed: `book:<action>:<book_id>`, e.g. `book:ask:42`. ShelfCb pages through /books: `shelf:<page>`.

Every number in every feature's callback data is one of the bounded types below, so a forged button
(`book:open:1000000000000000000000000000000`) fails its filter like any unknown button and gets the
"this button is no longer active" answer (handlers/fallback.py), instead of reaching a query the database
refuses.
"""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from db.base import INT32_MAX, INT64_MAX

BookId = Annotated[int, Field(ge=0, le=INT32_MAX)]  # books.id is an INTEGER column
RowId = Annotated[int, Field(ge=0, le=INT64_MAX)]  # BIGINT ids: users, payments, broadcasts, chat turns
Page = Annotated[int, Field(ge=0, le=INT32_MAX)]


class BookCb(CallbackData, prefix="book"):
    action: str  # open | ask | summary | activate | rename | read | delete | delete_yes | delete_no
    book_id: BookId


class ShelfCb(CallbackData, prefix="shelf"):
    page: Page  # 0-based
