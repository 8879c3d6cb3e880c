"""Shared quote cards: each card sent is counted, its deep link `/start q_<id>` opens the quote for whoever
follows it and counts a view (never the maker's own opens); admins see the most shared quotes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as urlquote

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import parse_number
from db.models import SharedQuote
from services.cards.render import QuoteCard

DEEP_LINK_PREFIX = "q_"
TOP_LIMIT = 10


@dataclass(frozen=True, slots=True)
class Shared:
    """A shared quote as the deep link shows it."""

    id: int
    user_id: int
    text: str
    title: str
    author: str | None
    place: str | None
    shares: int
    views: int


def _shared(row: SharedQuote) -> Shared:
    return Shared(row.id, row.user_id, row.text, row.title, row.author, row.place, row.shares, row.views)


def deep_link(bot_username: str | None, quote_id: int) -> str | None:
    """`https://t.me/<bot>?start=q_<id>`, or None when the bot's username is unknown."""
    return f"https://t.me/{bot_username}?start={DEEP_LINK_PREFIX}{quote_id}" if bot_username else None


def share_url(link: str, text: str) -> str:
    """Telegram's "share to a chat" address for the link, with a line of text."""
    return f"https://t.me/share/url?url={urlquote(link, safe='')}&text={urlquote(text, safe='')}"


def quote_id_from(args: str | None) -> int | None:
    """The quote id in `/start q_<id>`, or None for any other start argument."""
    if not args or not args.startswith(DEEP_LINK_PREFIX):
        return None
    value = parse_number(args.removeprefix(DEEP_LINK_PREFIX))
    return value if value is not None and value > 0 else None


async def record_share(session: AsyncSession, user_id: int, book_id: int | None, card: QuoteCard) -> int:
    """Count one card sent: the user's row for this quote gets one share more (made at the first);
    its id, for the deep link. Commits."""
    same_book = SharedQuote.book_id.is_(None) if book_id is None else SharedQuote.book_id == book_id
    quote_id = await session.scalar(
        select(SharedQuote.id)
        .where(SharedQuote.user_id == user_id, same_book, SharedQuote.text == card.quote)
        .order_by(SharedQuote.id)
        .limit(1)
    )
    if quote_id is None:
        row = SharedQuote(
            user_id=user_id,
            book_id=book_id,
            text=card.quote,
            title=card.title[:512],
            author=card.author[:512] if card.author else None,
            place=card.place[:128] if card.place else None,
            shares=1,
            views=0,
        )
        session.add(row)
        await session.flush()
        quote_id = row.id
    else:
        await session.execute(
            update(SharedQuote).where(SharedQuote.id == quote_id).values(shares=SharedQuote.shares + 1)
        )
    await session.commit()
    return int(quote_id)


async def open_shared(session: AsyncSession, quote_id: int, viewer_id: int) -> Shared | None:
    """The quote behind a deep link, counting a view unless the viewer made it; None when it is gone.
    Commits."""
    if quote_id <= 0:
        return None
    await session.execute(
        update(SharedQuote)
        .where(SharedQuote.id == quote_id, SharedQuote.user_id != viewer_id)
        .values(views=SharedQuote.views + 1)
    )
    await session.commit()
    row = await session.get(SharedQuote, quote_id, populate_existing=True)
    return None if row is None else _shared(row)


async def top_shared(session: AsyncSession, limit: int = TOP_LIMIT) -> list[Shared]:
    """The most shared quotes, most shares first, then most views."""
    rows = await session.scalars(
        select(SharedQuote)
        .order_by(SharedQuote.shares.desc(), SharedQuote.views.desc(), SharedQuote.id)
        .limit(limit)
    )
    return [_shared(row) for row in rows]


async def user_quotes(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """The user's shared quotes as plain data (for /export)."""
    rows = await session.scalars(
        select(SharedQuote).where(SharedQuote.user_id == user_id).order_by(SharedQuote.id)
    )
    return [
        {
            "id": row.id,
            "book_id": row.book_id,
            "text": row.text,
            "title": row.title,
            "author": row.author,
            "place": row.place,
            "shares": row.shares,
            "views": row.views,
            "created_at": row.created_at.isoformat() if row.created_at else None,
        }
        for row in rows
    ]


async def erase_user_quotes(session: AsyncSession, user_id: int) -> int:
    """Delete the user's shared quotes (their links stop opening); how many. Does not commit."""
    result = await session.execute(delete(SharedQuote).where(SharedQuote.user_id == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
