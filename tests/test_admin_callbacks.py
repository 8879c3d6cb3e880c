"""Every admin button's callback data fits Telegram's 64 bytes, round-trips, and is recognised as admin."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from db.base import INT32_MAX, INT64_MAX
from handlers.admin.callbacks import (
    ADMIN_PREFIXES,
    BookAction,
    BookCb,
    BroadcastAction,
    BroadcastCb,
    ExportCb,
    ExportKind,
    MenuCb,
    PaymentAction,
    PaymentCb,
    Section,
    UserAction,
    UserCb,
    is_admin_callback,
)

BIG = INT64_MAX  # the largest id a BIGINT column holds (books' ids are INTEGER)
LONGEST_VALUE = "scholar.0123abcd"  # a plan with its nonce; audiences are shorter ("language.ru")


def every_callback() -> list[CallbackData]:
    return [
        *(MenuCb(section=s) for s in Section),
        *(UserCb(action=a, user_id=BIG, page=9999, value=LONGEST_VALUE) for a in UserAction),
        *(BookCb(action=a, book_id=INT32_MAX, page=9999) for a in BookAction),
        *(PaymentCb(action=a, payment_id=BIG, page=9999) for a in PaymentAction),
        *(BroadcastCb(action=a, broadcast_id=BIG, value="language.ru") for a in BroadcastAction),
        *(ExportCb(kind=k) for k in ExportKind),
    ]


def test_sizes_and_round_trip() -> None:
    for data in every_callback():
        packed = data.pack()
        assert len(packed.encode()) <= 64, packed
        assert type(data).unpack(packed) == data
        assert is_admin_callback(packed)


def test_other_features_buttons_are_not_admin() -> None:
    assert len(set(ADMIN_PREFIXES)) == len(ADMIN_PREFIXES)
    for data in ("book:open:1", "shelf:0", "stg:menu:", "lang:en", "buy:stars:pack_100", "admin", "", None):
        assert not is_admin_callback(data)
