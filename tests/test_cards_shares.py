"""Shared quote cards on SQLite and PostgreSQL: a card sent counts a share, the deep link counts views
by others only (atomically), admins' top list, /export holds them and /delete_me erases them."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.models import SharedQuote
from services.admin.service import AdminService
from services.cards.render import QuoteCard
from services.cards.shares import (
    deep_link,
    open_shared,
    quote_id_from,
    record_share,
    share_url,
    top_shared,
    user_quotes,
)
from services.privacy.export import collect
from tests.admin_helpers import add_book, add_user
from tests.test_admin_users import FakeBooks

MAKER, FRIEND, STRANGER = 41, 42, 43
CARD = QuoteCard("Береги честь смолоду. 📚 שלום", "Капитанская дочка", "А. С. Пушкин", "Глава 1")


async def _share(
    factory: async_sessionmaker[AsyncSession], user_id: int, book_id: int, card: QuoteCard
) -> int:
    async with factory() as session:
        return await record_share(session, user_id, book_id, card)


async def _open(factory: async_sessionmaker[AsyncSession], quote_id: int, viewer: int) -> Any:
    async with factory() as session:
        return await open_shared(session, quote_id, viewer)


def test_links_and_start_arguments() -> None:
    assert deep_link("librarity_bot", 7) == "https://t.me/librarity_bot?start=q_7"
    assert deep_link(None, 7) is None
    assert [quote_id_from(a) for a in ("q_7", "q_", "q_-1", "q_0", "q_x1", "ref_7", None, "q_٣")] == [
        7, None, None, None, None, None, None, None,
    ]  # fmt: skip
    url = share_url("https://t.me/b?start=q_7", "Цитата из «Книги» & more")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://t.me/share/url?")
    assert query == {"url": ["https://t.me/b?start=q_7"], "text": ["Цитата из «Книги» & more"]}


async def test_a_card_sent_again_bumps_its_shares(session_factory: async_sessionmaker[AsyncSession]) -> None:
    book = await add_book(session_factory, MAKER, title="Капитанская дочка")
    first = await _share(session_factory, MAKER, book, CARD)
    again = await _share(session_factory, MAKER, book, CARD)
    other = await _share(session_factory, MAKER, book, QuoteCard("Другая цитата.", "Капитанская дочка"))
    theirs = await _share(session_factory, FRIEND, book, CARD)
    assert first == again and len({first, other, theirs}) == 3
    async with session_factory() as session:
        row = await session.get(SharedQuote, first)
        assert row is not None and (row.shares, row.views, row.user_id, row.book_id) == (2, 0, MAKER, book)
        assert (row.text, row.title, row.author, row.place) == (
            CARD.quote,
            CARD.title,
            CARD.author,
            CARD.place,
        )


async def test_opens_by_others_count_views_the_makers_do_not(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    book = await add_book(session_factory, MAKER)
    quote_id = await _share(session_factory, MAKER, book, CARD)
    own = await _open(session_factory, quote_id, MAKER)
    assert own is not None and own.views == 0 and own.text == CARD.quote
    # Several people opening at once: every open counted (an increment in the database, not read-write).
    opened = await asyncio.gather(*(_open(session_factory, quote_id, viewer) for viewer in range(100, 106)))
    assert all(o is not None for o in opened)
    seen = await _open(session_factory, quote_id, FRIEND)
    assert seen is not None and seen.views == 7 and seen.shares == 1
    assert await _open(session_factory, quote_id + 1000, FRIEND) is None


async def test_admins_see_the_most_shared_first(session_factory: async_sessionmaker[AsyncSession]) -> None:
    book = await add_book(session_factory, MAKER)
    quiet = await _share(session_factory, MAKER, book, QuoteCard("Quiet.", "A book"))
    loud = await _share(session_factory, MAKER, book, QuoteCard("Loud.", "A book"))
    for _ in range(2):
        await _share(session_factory, MAKER, book, QuoteCard("Loud.", "A book"))
    seen = await _share(session_factory, FRIEND, book, QuoteCard("Seen.", "A book"))
    await _open(session_factory, seen, STRANGER)
    async with session_factory() as session:
        top = await top_shared(session)
        assert [(q.id, q.shares, q.views) for q in top] == [(loud, 3, 0), (seen, 1, 1), (quiet, 1, 0)]
        assert [q.id for q in await top_shared(session, limit=1)] == [loud]


@pytest.fixture
async def admin(make_settings: Any, session_factory: async_sessionmaker[AsyncSession]) -> AdminService:
    settings: Settings = make_settings(admin_ids=[1])
    return AdminService(settings, session_factory, books=FakeBooks(session_factory))


async def test_export_holds_them_and_delete_me_erases_them(
    admin: AdminService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_user(session_factory, MAKER, "Вера", None, "vera", language="ru")
    await add_user(session_factory, FRIEND, "Olga", None, "olga")
    book = await add_book(session_factory, MAKER, title="Капитанская дочка")
    mine = await _share(session_factory, MAKER, book, CARD)
    await _share(session_factory, FRIEND, book, QuoteCard("Someone else's quote", "Their book"))
    await _open(session_factory, mine, FRIEND)
    async with session_factory() as session:
        exported = await collect(session, MAKER)
    assert exported is not None
    assert [(q["id"], q["text"], q["shares"], q["views"]) for q in exported["shared_quotes"]] == [
        (mine, CARD.quote, 1, 1)
    ]
    async with session_factory() as session:
        await admin.users.delete_own_data(session, MAKER)
    async with session_factory() as session:
        assert await user_quotes(session, MAKER) == []
        assert await open_shared(session, mine, FRIEND) is None  # the link no longer opens it
        assert await session.scalar(select(func.count(SharedQuote.id))) == 1  # the friend's stays
