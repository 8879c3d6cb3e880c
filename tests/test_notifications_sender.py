"""The Sender keeps Telegram's pace, waits out 429s, and stops writing to users who blocked the bot."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import User
from db.repositories import users
from services.notifications.sender import SendStatus
from tests.support_notifications import RecordingSession, VirtualTime, make_sender


async def _user(session_factory: async_sessionmaker[AsyncSession], user_id: int) -> None:
    async with session_factory() as session:
        await users.upsert_seen(
            session, user_id=user_id, username=None, first_name="U", last_name=None, language="en"
        )
        await session.commit()


async def test_overall_pace_is_at_most_25_a_second(session_factory: async_sessionmaker[AsyncSession]) -> None:
    time = VirtualTime()
    tg = RecordingSession(time)
    sender = make_sender(session_factory, tg, time)
    for chat_id in range(1, 81):
        result = await sender.send(chat_id, "hello", check_blocked=False)
        assert result.status is SendStatus.SENT
    assert len(tg.calls) == 80
    counts = tg.per_second()
    assert max(counts.values()) <= 25
    assert len(counts) >= 4  # 80 messages cannot fit in fewer than four seconds


async def test_one_message_a_second_per_chat(session_factory: async_sessionmaker[AsyncSession]) -> None:
    time = VirtualTime()
    tg = RecordingSession(time)
    sender = make_sender(session_factory, tg, time)
    for _ in range(5):
        await sender.send(7, "again", check_blocked=False)
        await sender.send(8, "other chat", check_blocked=False)
    assert len(tg.to(7)) == 5
    assert max(tg.per_second(7).values()) == 1
    assert max(tg.per_second(8).values()) == 1


async def test_retry_after_waits_and_sends_once(session_factory: async_sessionmaker[AsyncSession]) -> None:
    time = VirtualTime()
    tg = RecordingSession(time)
    tg.retry_after = [3, 2]
    sender = make_sender(session_factory, tg, time)
    result = await sender.send(5, "patience", check_blocked=False)
    assert result.status is SendStatus.SENT
    assert tg.attempts == 3 and len(tg.calls) == 1
    assert sender.stats["retry_after"] == 2
    # Everybody waited, not just that chat: the next message to another chat also comes after the pause.
    await sender.send(6, "next", check_blocked=False)
    assert tg.calls[-1].at >= tg.calls[0].at


async def test_retry_after_gives_up_after_max_retries(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    time = VirtualTime()
    tg = RecordingSession(time)
    tg.retry_after = [1, 1, 1, 1, 1]
    sender = make_sender(session_factory, tg, time, max_retries=2)
    result = await sender.send(5, "x", check_blocked=False)
    assert result.status is SendStatus.FAILED and not tg.calls


async def test_blocked_user_is_marked_and_skipped(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _user(session_factory, 42)
    time = VirtualTime()
    tg = RecordingSession(time)
    tg.blocked.add(42)
    sender = make_sender(session_factory, tg, time)
    first = await sender.send(42, "hi")
    assert first.status is SendStatus.BLOCKED
    async with session_factory() as session:
        user = await session.get(User, 42)
        assert user is not None and user.blocked_bot
    attempts = tg.attempts
    second = await sender.send(42, "hi again")
    assert second.status is SendStatus.BLOCKED
    assert tg.attempts == attempts, "no call to Telegram for a user known to have blocked the bot"
