"""/export: the profile, books (titles, status), conversations, ledger, payments and settings of one
user, as JSON inside a zip. Reads only rows tied to that user's id."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import Achievement, Book, ChatTurn, CreditAccount, LedgerEntry, Payment, ReadingStreak, User
from services.cards.shares import user_quotes
from services.engagement.leaderboard import export_row as leaderboard_row

EXPORT_FORMAT = 1
JSON_NAME = "librarity-data.json"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def collect(session: AsyncSession, user_id: int) -> dict[str, Any] | None:
    """Everything kept about the user as plain JSON-ready data; None when there is no such user."""
    user = await session.get(User, user_id)
    if user is None:
        return None
    books = (await session.scalars(select(Book).where(Book.user_id == user_id).order_by(Book.id))).all()
    turns = (
        await session.scalars(select(ChatTurn).where(ChatTurn.user_id == user_id).order_by(ChatTurn.id))
    ).all()
    ledger = (
        await session.scalars(
            select(LedgerEntry).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.id)
        )
    ).all()
    payments = (
        await session.scalars(select(Payment).where(Payment.user_id == user_id).order_by(Payment.id))
    ).all()
    account = await session.scalar(select(CreditAccount).where(CreditAccount.user_id == user_id))
    streak = await session.get(ReadingStreak, user_id)
    achievements = (
        await session.scalars(
            select(Achievement).where(Achievement.user_id == user_id).order_by(Achievement.achieved_at)
        )
    ).all()
    return {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow().isoformat(),
        "profile": {
            "id": user.id,
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "language": user.language,
            "timezone": user.timezone,
            "created_at": _when(user.created_at),
            "last_seen_at": _when(user.last_seen_at),
            "plan": account.plan if account is not None else None,
            "balance": account.balance if account is not None else None,
        },
        "settings": dict(user.settings or {}),
        "books": [
            {
                "id": b.id,
                "title": b.title,
                "author": b.author,
                "file_name": b.file_name,
                "format": b.format,
                "language": b.language,
                "status": b.status,
                "chunks": b.chunks,
                "read_until_percent": b.read_until,
            }
            for b in books
        ],
        "conversations": [
            {
                "id": t.id,
                "book_id": t.book_id,
                "mode": t.mode,
                "question": t.question,
                "answer": t.answer,
                "citations": t.citations,
                "created_at": _when(t.created_at),
            }
            for t in turns
        ],
        "reading": {
            "streak": streak.current if streak else 0,
            "best_streak": streak.best if streak else 0,
            "last_day": streak.last_day.isoformat() if streak and streak.last_day else None,
            "days_read": streak.days_total if streak else 0,
            "milestones": [{"code": a.code, "reached_at": _when(a.achieved_at)} for a in achievements],
        },
        "leaderboard": await leaderboard_row(session, user_id),
        "ledger": [
            {
                "amount": e.amount,
                "reason": e.reason,
                "balance_after": e.balance_after,
                "created_at": _when(e.created_at),
            }
            for e in ledger
        ],
        "payments": [
            {
                "provider": p.provider,
                "currency": p.currency,
                "amount": p.amount,
                "created_at": _when(p.created_at),
            }
            for p in payments
        ],
        "shared_quotes": await user_quotes(session, user_id),
    }


def pack(data: dict[str, Any]) -> bytes:
    """The data as one pretty-printed JSON file inside a zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(JSON_NAME, json.dumps(data, ensure_ascii=False, indent=2, default=str))
    return buffer.getvalue()


async def export_zip(session: AsyncSession, user_id: int) -> bytes | None:
    data = await collect(session, user_id)
    return pack(data) if data is not None else None
