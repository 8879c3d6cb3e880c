"""User notifications: told once, only when wanted, and not twice to someone watching a book's progress."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifications.alerts import AdminAlerts
from services.notifications.notifier import Notifier
from tests.support_notifications import I18N, RecordingSession, VirtualTime, add_user, clock_at, make_sender


def _notifier(session_factory: async_sessionmaker[AsyncSession], tg: RecordingSession) -> Notifier:
    time = VirtualTime()
    tg.time = time
    sender = make_sender(session_factory, tg, time)
    alerts = AdminAlerts(sender, I18N, session_factory, admin_ids=[500])
    return Notifier(session_factory, sender, I18N, clock_at(2025, 3, 1, 12), alerts=alerts)


async def test_book_ready_only_after_a_restart_or_a_long_wait(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_user(session_factory, 1)
    tg = RecordingSession()
    notifier = _notifier(session_factory, tg)
    now = notifier.clock.now()
    # Watched and quick: the progress message became the book card; no second message.
    assert await notifier.book_ready(1, 10, "Quick", started_at=now - timedelta(seconds=20)) is None
    # Slow: the user has probably left the chat.
    assert (await notifier.book_ready(1, 11, "Slow", started_at=now - timedelta(minutes=5))).ok  # type: ignore[union-attr]
    # Finished after a restart (the ingestion listener path): created before this process started.
    book = SimpleNamespace(
        id=12, user_id=1, display_title="Resumed", created_at=now - timedelta(seconds=30), error_code=None
    )
    notifier.started_at = now - timedelta(seconds=10)
    await notifier.on_ingestion_progress(book, "ready", 1.0)
    await notifier.on_ingestion_progress(book, "ready", 1.0)  # told once
    await notifier.on_ingestion_progress(book, "indexing", 0.5)
    texts = [c.text or "" for c in tg.to(1)]
    assert len(texts) == 2 and "Slow" in texts[0] and "Resumed" in texts[1]


async def test_payment_told_once_and_opt_out_respected(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_user(session_factory, 2, language="ru")
    await add_user(session_factory, 3, settings={"notifications": {"off": ["payments"]}})
    tg = RecordingSession()
    notifier = _notifier(session_factory, tg)
    for _ in range(2):
        await notifier.payment_received(2, payment_id="ch_1", amount=250, currency="XTR", credits=500)
    await notifier.payment_received(3, payment_id="ch_2", amount=99.5, currency="RUB")
    assert [c.chat_id for c in tg.calls] == [2]
    assert "Оплата получена: 250 XTR" in (tg.calls[0].text or "") and "500" in (tg.calls[0].text or "")
    await notifier.alerts.flush()  # type: ignore[union-attr]
    admin = tg.to(500)[0].text or ""
    assert "Payments: 3" in admin and "250 XTR" in admin, "admins hear of every payment, opted out or not"
    assert await notifier.trial_ending(99, ends_at=notifier.clock.now()) is None  # unknown user: nothing
