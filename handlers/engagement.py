"""Reading streaks and milestones: /stats, and the milestone line after the reading that reached it."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from db.models import User
from services.engagement.streaks import ReadingStreaks

router = Router(name=__name__)


@router.message(Command("stats"))
async def cmd_stats(
    message: Message, user: User, session: AsyncSession, i18n: Translator, streaks: ReadingStreaks
) -> None:
    figures, reached = await streaks.stats(session, user.id, user.timezone)
    text = i18n(
        "stats-text",
        books=figures.books,
        questions=figures.questions,
        current=figures.current_streak,
        best=figures.best_streak,
        days=figures.days_read,
    )
    if figures.milestones:
        names = "\n".join(f"🏆 {i18n(f'milestone-{code}')}" for code in figures.milestones)
        text += "\n\n" + i18n("stats-milestones") + "\n" + names
    else:
        text += "\n\n" + i18n("stats-no-milestones")
    await message.answer(text)
    await announce_milestones(message, i18n, reached)


async def count_reading(
    message: Message, user: User, session: AsyncSession, i18n: Translator, streaks: ReadingStreaks | None
) -> None:
    """Count today as a reading day; announce the milestones reached just now (each only ever once)."""
    await announce_milestones(message, i18n, await count_reading_day(user, session, streaks))


async def count_reading_day(user: User, session: AsyncSession, streaks: ReadingStreaks | None) -> list[str]:
    """Count today as a reading day (committed); the milestones reached just now."""
    return [] if streaks is None else await streaks.read(session, user.id, user.timezone)


async def announce_milestones(message: Message, i18n: Translator, codes: list[str]) -> None:
    for code in codes:
        await message.answer(i18n("milestone-reached", name=i18n(f"milestone-{code}")))
