"""Callback data of every admin button. Each factory's actions are an enum, so a test can forge every one.

Prefixes start with "adm" (ADMIN_PREFIXES); packed sizes stay far below Telegram's 64 bytes:
the longest, `admu:plan:<13-digit id>:0:scholar.<8 hex>`, is about 45.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from handlers.callbacks import BookId, Page, RowId


class Section(StrEnum):
    MENU = "menu"
    OVERVIEW = "ov"
    USERS = "us"
    BOOKS = "bk"
    PAYMENTS = "pay"
    BROADCASTS = "bc"
    EXPORT = "ex"
    QUOTES = "qt"  # the most shared quote cards
    CLOSE = "x"


class MenuCb(CallbackData, prefix="adm"):
    section: Section


class UserAction(StrEnum):
    FIND = "find"  # ask for a query
    NEWEST = "new"  # newest users, paged
    RESULTS = "res"  # the last search's results, paged
    CARD = "card"
    GRANT = "grant"
    TAKE = "take"
    PLANS = "plans"
    PLAN = "plan"  # value: "<plan>.<nonce>"
    ROLES = "roles"
    ROLE = "role"  # value: role
    BAN = "ban"
    UNBAN = "unban"
    DELETE = "del"  # asks to confirm
    DELETE_YES = "dely"
    LOG = "log"  # the audit log about this user


class UserCb(CallbackData, prefix="admu"):
    action: UserAction
    user_id: RowId = 0
    page: Page = 0
    value: str = ""


class BookAction(StrEnum):
    SUMMARY = "sum"
    QUEUE = "q"
    FAILED = "f"
    CARD = "card"
    RETRY = "retry"
    DELETE = "del"
    DELETE_YES = "dely"


class BookCb(CallbackData, prefix="admb"):
    action: BookAction
    book_id: BookId = 0
    page: Page = 0


class PaymentAction(StrEnum):
    LIST = "list"
    CARD = "card"
    REFUND = "ref"  # asks to confirm
    REFUND_YES = "refy"


class PaymentCb(CallbackData, prefix="admp"):
    action: PaymentAction
    payment_id: RowId = 0
    page: Page = 0


class BroadcastAction(StrEnum):
    LIST = "list"
    NEW = "new"
    NO_BUTTON = "nobtn"
    AUDIENCE = "aud"  # value: all | active | plan.<plan> | language.<code>
    START = "go"
    CANCEL = "stop"
    VIEW = "view"


class BroadcastCb(CallbackData, prefix="admc"):
    action: BroadcastAction
    broadcast_id: RowId = 0
    value: str = ""


class ExportKind(StrEnum):
    USERS = "users"
    PAYMENTS = "payments"


class ExportCb(CallbackData, prefix="adme"):
    kind: ExportKind


class SupportAction(StrEnum):
    REPLY = "reply"
    CANCEL = "cancel"


class SupportCb(CallbackData, prefix="adms"):
    """Under a forwarded /paysupport request: answer the user who wrote it."""

    action: SupportAction
    user_id: int = 0


FACTORIES: tuple[type[CallbackData], ...] = (
    MenuCb, UserCb, BookCb, PaymentCb, BroadcastCb, ExportCb, SupportCb,
)  # fmt: skip
ADMIN_PREFIXES: tuple[str, ...] = tuple(f"{f.__prefix__}:" for f in FACTORIES)  # type: ignore[attr-defined]


def is_admin_callback(data: str | None) -> bool:
    return bool(data) and str(data).startswith(ADMIN_PREFIXES)
