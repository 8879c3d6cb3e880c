"""Broadcasts: audience, preview, progress, report; an interrupted broadcast resumes without duplicates."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifications.broadcast import Audience, BroadcastError, BroadcastService
from tests.support_notifications import RecordingSession, VirtualTime, add_user, clock_at, make_sender

NOW = datetime(2025, 3, 10, 12, tzinfo=UTC)


async def _users(session_factory: async_sessionmaker[AsyncSession], n: int = 30) -> None:
    for uid in range(1, n + 1):
        await add_user(
            session_factory,
            uid,
            language="ru" if uid % 3 == 0 else "en",
            last_seen_at=NOW - timedelta(days=uid, hours=1),  # users 1..30: seen 1..30 days ago
            blocked=uid == 7,
            role="subscriber" if uid % 5 == 0 else "user",
            settings={"notifications": {"off": ["news"]}} if uid == 11 else None,
        )


def _service(
    session_factory: async_sessionmaker[AsyncSession], tg: RecordingSession, **kwargs: Any
) -> BroadcastService:
    time = VirtualTime()
    tg.time = time
    return BroadcastService(
        session_factory, make_sender(session_factory, tg, time), clock_at(2025, 3, 10, 12), **kwargs
    )


async def test_audiences_and_validation(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _users(session_factory)
    service = _service(session_factory, RecordingSession())
    # 30 users, minus the blocked one (7) and the one who turned news off (11).
    assert await service.audience_size(Audience("all")) == 28
    assert await service.audience_size(Audience("active")) == 27  # seen within 30 days: 1..29
    assert await service.audience_size(Audience("language", "ru")) == 10
    assert await service.audience_size(Audience("plan", "pro")) == 6  # subscribers 5, 10, ..., 30
    with pytest.raises(BroadcastError) as error:
        await service.create(author_id=1, text="  ")
    assert error.value.code == "empty"
    with pytest.raises(BroadcastError):
        await service.create(author_id=1, text="x", button=("Open", "javascript:alert(1)"))
    with pytest.raises(BroadcastError):
        await service.create(author_id=1, photo_file_id="PHOTO", text="x" * 1100)


async def test_preview_then_send_to_all_with_report(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await _users(session_factory, 12)
    tg = RecordingSession()
    tg.blocked.add(4)  # blocked the bot since; we learn it while sending
    service = _service(session_factory, tg)
    bid = await service.create(author_id=99, text="<b>News</b>", button=("Read", "https://example.com"))
    preview = await service.preview(bid, 99)
    assert preview.ok and tg.calls[0].chat_id == 99
    assert (await service.progress(bid)).status == "draft"

    started = await service.start(bid)
    assert started.status == "running" and started.total == 10  # 12 minus 7 (blocked) and 11 (news off)
    report = await service.wait(bid)
    assert report.status == "done"
    assert (report.sent, report.blocked, report.failed, report.pending) == (9, 1, 0, 0)
    sent_to = Counter(c.chat_id for c in tg.calls[1:])
    assert set(sent_to) == {1, 2, 3, 5, 6, 8, 9, 10, 12} and max(sent_to.values()) == 1
    with pytest.raises(BroadcastError):
        await service.start(bid)  # not a draft any more


async def test_killed_midway_resumes_without_duplicates(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await _users(session_factory, 30)
    tg = RecordingSession()
    first = _service(session_factory, tg, workers=3)
    bid = await first.create(author_id=1, text="Big news")

    # Kill the sending task (as a dying process would) after the 10th message.
    killed = asyncio.Event()
    original = tg.make_request

    async def make_request(bot: Any, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109
        result = await original(bot, method, timeout)
        if len(tg.calls) == 10 and not killed.is_set():
            killed.set()
            first._tasks[bid].cancel()
        return result

    tg.make_request = make_request  # type: ignore[method-assign]
    await first.start(bid)
    with pytest.raises(asyncio.CancelledError):
        await first._tasks[bid]
    midway = await first.progress(bid)
    assert midway.status == "running" and 0 < midway.processed < midway.total

    # A new process: a fresh service over the same database picks it up.
    second = _service(session_factory, tg, workers=3)
    assert await second.resume_unfinished() == [bid]
    report = await second.wait(bid)
    assert report.status == "done"
    counts = Counter(c.chat_id for c in tg.calls)
    assert max(counts.values()) == 1, "nobody got the broadcast twice"
    # Messages in flight when it died reached their users but are recorded as "unknown", never resent.
    assert report.sent <= len(counts) <= report.sent + report.unknown
    assert report.sent + report.unknown + report.failed + report.blocked == report.total == 28
    assert report.unknown <= 3, "at most the messages in flight when it was killed"


async def test_cancel_stops_sending(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _users(session_factory, 30)
    tg = RecordingSession()
    service = _service(session_factory, tg, workers=1)
    bid = await service.create(author_id=1, text="Oops")
    original = tg.make_request
    cancelling: list[asyncio.Task[Any]] = []

    async def make_request(bot: Any, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109
        result = await original(bot, method, timeout)
        if len(tg.calls) == 5 and not cancelling:
            cancelling.append(asyncio.create_task(service.cancel(bid)))
        return result

    tg.make_request = make_request  # type: ignore[method-assign]
    await service.start(bid)
    await service.wait(bid)
    report = await cancelling[0]
    assert report.status == "cancelled"
    assert report.sent == len(tg.calls) < report.total
    assert report.pending == report.total - report.sent
    assert await service.resume_unfinished() == []
