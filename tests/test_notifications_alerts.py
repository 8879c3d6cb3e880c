"""Admin alerts come grouped: a burst is one message per admin; book and payment events reach them."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.llm.base import ProviderError
from services.llm.router import HealthEvent, LLMRouter
from services.notifications.alerts import AdminAlerts
from services.notifications.notifier import Notifier
from tests.support_notifications import I18N, RecordingSession, VirtualTime, add_user, clock_at, make_sender


def _alerts(
    session_factory: async_sessionmaker[AsyncSession], tg: RecordingSession, **kwargs: object
) -> AdminAlerts:
    time = VirtualTime()
    tg.time = time
    return AdminAlerts(make_sender(session_factory, tg, time), I18N, session_factory, **kwargs)  # type: ignore[arg-type]


async def test_a_burst_of_errors_is_one_message_per_admin(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_user(session_factory, 900, language="ru")
    tg = RecordingSession()
    alerts = _alerts(session_factory, tg, admin_ids=[900, 901])
    for update_id in range(100, 150):
        alerts.error(update_id, ValueError("bad value"))
    alerts.error(151, KeyError("missing"))
    for uid in range(3):
        alerts.new_user(uid, f"Reader {uid}", None, "en")
    assert await alerts.flush() == 2
    assert sorted(c.chat_id for c in tg.calls) == [900, 901]
    english = next(c.text for c in tg.calls if c.chat_id == 901) or ""
    assert "Errors: 51" in english and "ValueError</code> ×50" in english and "KeyError</code> ×1" in english
    assert "updates 100, 101, 102, 103, 104…" in english and "New users: 3" in english
    russian = next(c.text for c in tg.calls if c.chat_id == 900) or ""
    assert "Ошибки: 51" in russian
    assert await alerts.flush() == 0, "nothing new, nothing sent"


async def test_admin_chat_gets_one_message_and_long_lists_are_cut(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    tg = RecordingSession()
    alerts = _alerts(session_factory, tg, admin_ids=[1, 2], admin_chat_id=-100500)
    for uid in range(25):
        alerts.new_user(uid, f"<Reader {uid}>", f"r{uid}", "en")
    await alerts.flush()
    assert [c.chat_id for c in tg.calls] == [-100500]
    text = tg.calls[0].text or ""
    assert text.count("•") == 10 and "and 15 more" in text and "&lt;Reader 0&gt;" in text


async def test_no_admins_no_alerts(session_factory: async_sessionmaker[AsyncSession]) -> None:
    tg = RecordingSession()
    alerts = _alerts(session_factory, tg, admin_ids=[])
    alerts.error(1, RuntimeError("x"))
    assert await alerts.flush() == 0 and tg.calls == []


async def test_llm_down_and_back_and_failed_book(session_factory: async_sessionmaker[AsyncSession]) -> None:
    from bot.wiring import notifications as install

    tg = RecordingSession()
    alerts = _alerts(session_factory, tg, admin_ids=[5])
    await add_user(session_factory, 42)
    clock = clock_at(2025, 3, 1, 12)
    notifier = Notifier(session_factory, alerts.sender, I18N, clock, alerts=alerts)

    class Provider:
        name = "gemini"

        async def aclose(self) -> None:
            return None

    router = LLMRouter([Provider()])  # type: ignore[list-item]

    ctx = SimpleNamespace(services={"alerts": alerts, "llm": router})

    # The listener the installer attaches to the LLM router hears it go down and come back.
    install._listen_to_llm_health(ctx)  # type: ignore[arg-type]
    await router._notify(
        HealthEvent("gemini", up=False, error=ProviderError("gemini", "timeout", "no answer in 30s"))
    )
    await router._notify(HealthEvent("gemini", up=True, down_for_seconds=95.0))
    await install._on_error(ctx, 77, ZeroDivisionError("division by zero"))

    # A book that failed while its user watched: admins hear of it, the user is not messaged twice.
    await notifier.book_failed(
        42, 3, "War & Peace", "encrypted", started_at=clock.now() - timedelta(seconds=5)
    )
    await alerts.flush()
    admin_text = tg.to(5)[0].text or ""
    assert "LLM provider down" in admin_text and "LLM provider back" in admin_text and "95s" in admin_text
    assert "ZeroDivisionError" in admin_text and "updates 77" in admin_text
    assert "War &amp; Peace" in admin_text and "encrypted" in admin_text
    assert tg.to(42) == []


async def test_a_book_waiting_for_its_password_is_no_failure(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    tg = RecordingSession()
    alerts = _alerts(session_factory, tg, admin_ids=[5])
    await add_user(session_factory, 42)
    clock = clock_at(2025, 3, 1, 12)
    notifier = Notifier(session_factory, alerts.sender, I18N, clock, alerts=alerts)
    long_ago = clock.now() - timedelta(hours=1)  # slow enough that a real failure messages the user too

    def book(book_id: int, code: str) -> SimpleNamespace:
        return SimpleNamespace(
            id=book_id, user_id=42, error_code=code, created_at=long_ago, display_title=f"Book {book_id}"
        )

    await notifier.on_ingestion_progress(book(1, "password_required"), "failed", 0.3)
    await notifier.on_ingestion_progress(book(2, "wrong_password"), "failed", 0.3)
    await alerts.flush()
    assert tg.to(5) == [] and tg.to(42) == [], "the card asks for the password; nobody else hears of it"

    await notifier.on_ingestion_progress(book(3, "corrupt_file"), "failed", 0.3)
    await alerts.flush()
    assert "corrupt_file" in (tg.to(5)[0].text or ""), "admins see the code"
    told = tg.to(42)[0].text or ""
    assert "Book 3" in told and "corrupt_file" not in told, "the user never sees a raw code"
