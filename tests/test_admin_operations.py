"""Books (through the real ingestion service), Stars refunds (through billing's interface), CSV exports,
the growth chart and the calm progress watcher."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.models import AuditEntry, Book, BookStatus
from services.admin.actor import Actor, AdminError
from services.admin.charts import ChartLabels, render_growth_chart
from services.admin.exports import PAYMENT_COLUMNS, USER_COLUMNS
from services.admin.progress import ProgressWatcher
from services.admin.roles import Role
from services.admin.service import AdminService
from services.analytics.metrics import Metrics
from services.billing.orders import RefundOutcome
from services.ingestion.service import IngestionConfig, IngestionService
from tests.admin_helpers import add_book, add_payment, add_user

ADMIN = Actor(2, Role.ADMIN)
USER = 3


class FakeIndex:
    def __init__(self) -> None:
        self.deleted: list[tuple[int, int]] = []

    async def index_chunks(self, *args: Any, **kwargs: Any) -> None: ...

    async def add_dense(self, *args: Any) -> int:
        return 0

    async def delete_book(self, user_id: int, book_id: int) -> None:
        self.deleted.append((user_id, book_id))

    async def copy_book(self, *args: Any) -> int:
        return 0


class FakeStars:
    def __init__(self) -> None:
        self.refunded: list[str] = []

    async def refund(self, session: AsyncSession, bot: Any, charge_id: str) -> RefundOutcome:
        self.refunded.append(charge_id)
        return RefundOutcome("refunded", USER, credits_taken=100)


@pytest.fixture
def settings_(make_settings: Any) -> Settings:
    settings: Settings = make_settings(admin_ids=[1])
    return settings


async def _actions(factory: async_sessionmaker[AsyncSession]) -> list[str]:
    async with factory() as session:
        return list((await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all())


async def test_books_queue_failed_reprocess_delete(
    settings_: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    index = FakeIndex()
    ingestion = IngestionService(
        session_factory, index, IngestionConfig.from_settings(settings_, executor="thread")
    )
    admin = AdminService(settings_, session_factory, ingestion=ingestion)
    await add_user(session_factory, USER, "Ivan")
    sha = "ab" * 32
    settings_.files_dir.mkdir(parents=True, exist_ok=True)
    (settings_.files_dir / sha).write_bytes(b"Call me Ishmael.")
    failed = await add_book(
        session_factory, USER, status="failed", title="Moby", file_sha256=sha, error_code="timeout"
    )
    pending = [await add_book(session_factory, USER, status="pending", title=f"Q{n}") for n in range(3)]
    ready = await add_book(session_factory, USER, title="Done")
    async with session_factory() as session:
        queue, total = await admin.books.queue(session, limit=2)
        assert total == 3 and [b.id for b in queue] == pending[:2]
        broken, total = await admin.books.failed(session)
        assert total == 1 and broken[0].error_code == "timeout"

        with pytest.raises(AdminError, match="not_retryable"):
            await admin.books.reprocess(session, ADMIN, ready)
        await admin.books.reprocess(session, ADMIN, failed)
        book = await session.get(Book, failed, populate_existing=True)
        assert book is not None and book.status == BookStatus.PENDING and book.error_code is None

        await admin.books.delete(session, ADMIN, ready)
        assert await session.get(Book, ready, populate_existing=True) is None
        assert index.deleted == [(USER, ready)]
        with pytest.raises(AdminError, match="not_found"):
            await admin.books.delete(session, ADMIN, 9999)
    assert await _actions(session_factory) == ["book.reprocess", "book.delete"]


async def test_a_failed_book_is_offered_for_reprocessing_only_while_its_file_is_kept(
    settings_: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from bot.i18n import I18n
    from handlers.admin.books import book_keyboard, book_text

    ingestion = IngestionService(
        session_factory, FakeIndex(), IngestionConfig.from_settings(settings_, executor="thread")
    )
    admin = AdminService(settings_, session_factory, ingestion=ingestion)
    await add_user(session_factory, USER, "Ivan")
    kept_sha, gone_sha = "cd" * 32, "ef" * 32
    settings_.files_dir.mkdir(parents=True, exist_ok=True)
    (settings_.files_dir / kept_sha).write_bytes(b"Call me Ishmael.")
    kept = await add_book(session_factory, USER, status="failed", file_sha256=kept_sha, error_code="timeout")
    gone = await add_book(session_factory, USER, status="failed", file_sha256=gone_sha, error_code="timeout")
    i18n = I18n().translator("en")
    async with session_factory() as session:
        for book_id, expected in ((kept, True), (gone, False)):
            book = await admin.books.get(session, book_id)
            assert book is not None and admin.books.can_reprocess(book) is expected
            text = book_text(i18n, book, file_days=7, kept=expected)
            assert ("kept until" in text) is expected and ("no longer kept" in text) is not expected
            markup = book_keyboard(i18n, book, 0, can_reprocess=expected)
            labels = [b.text for row in markup.inline_keyboard for b in row]
            assert any("Reprocess" in label for label in labels) is expected


async def test_books_without_ingestion_still_delete(
    settings_: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    index = FakeIndex()
    admin = AdminService(settings_, session_factory, search_index=index)
    await add_user(session_factory, USER, "Ivan")
    book = await add_book(session_factory, USER, status="failed")
    async with session_factory() as session:
        with pytest.raises(AdminError, match="unavailable"):
            await admin.books.reprocess(session, ADMIN, book)
        await admin.books.delete(session, ADMIN, book)
    assert index.deleted == [(USER, book)]


async def test_refunds_only_paid_stars(
    settings_: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    stars = FakeStars()
    admin = AdminService(settings_, session_factory, stars=stars)
    await add_user(session_factory, USER, "Ivan")
    star_payment = await add_payment(session_factory, USER, charge_id="tg-1")
    card_payment = await add_payment(session_factory, USER, currency="RUB", amount=9900, charge_id="yk-1")
    async with session_factory() as session:
        payments, total = await admin.payments.recent(session)
        assert total == 2 and {p.id for p in payments} == {star_payment, card_payment}
        outcome = await admin.payments.refund(session, object(), ADMIN, star_payment)
        assert outcome.credits_taken == 100 and stars.refunded == ["tg-1"]
        with pytest.raises(AdminError, match="not_refundable"):
            await admin.payments.refund(session, object(), ADMIN, card_payment)
        with pytest.raises(AdminError, match="not_found"):
            await admin.payments.refund(session, object(), ADMIN, 9999)
    assert await _actions(session_factory) == ["payment.refund"]


async def test_csv_exports(settings_: Settings, session_factory: async_sessionmaker[AsyncSession]) -> None:
    admin = AdminService(settings_, session_factory)
    await add_user(session_factory, USER, "Иван", "=HYPERLINK(1)", "ivan")
    for n in range(5):
        await add_user(session_factory, 100 + n, f"U{n}")
    await add_book(session_factory, USER)
    await add_payment(session_factory, USER, charge_id="tg-1")
    async with session_factory() as session:
        users = await admin.export(session, ADMIN, "users")
        payments = await admin.export(session, ADMIN, "payments")
    try:
        raw = users.path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0] == list(USER_COLUMNS) and users.rows == 6 == len(rows) - 1
        ivan = next(r for r in rows if r[0] == str(USER))
        assert ivan[2] == "Иван" and ivan[3] == "'=HYPERLINK(1)" and ivan[USER_COLUMNS.index("books")] == "1"
        rows = list(csv.reader(io.StringIO(payments.path.read_text(encoding="utf-8-sig"))))
        assert rows[0] == list(PAYMENT_COLUMNS) and payments.rows == 1
        assert (
            rows[1][PAYMENT_COLUMNS.index("charge_id")] == "tg-1"
            and rows[1][PAYMENT_COLUMNS.index("product")] == "pack_100"
        )
    finally:
        users.remove()
        payments.remove()
    assert not users.path.exists()
    assert await _actions(session_factory) == ["export.users", "export.payments"]


async def test_growth_chart_is_a_png(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await add_user(session_factory, USER, "Ivan")
    from db.base import utcnow

    points = await Metrics(session_factory).daily_series(utcnow(), 30)
    png = render_growth_chart(
        points, ChartLabels("Последние 30 дней", "Всего", "Новые", "Активные", "Вопросы")
    )
    assert png.startswith(b"\x89PNG") and len(png) > 5000


async def test_progress_watcher_shows_changes_only() -> None:
    states = iter([1, 1, 2, 2, 2, 3, 99])
    shown: list[int] = []

    async def poll() -> int:
        return next(states)

    async def show(state: int) -> None:
        shown.append(state)

    watcher = ProgressWatcher(interval=0)
    task = watcher.watch("k", poll, show, lambda s: s >= 3)
    await asyncio.wait_for(task, 5)
    assert shown == [1, 2, 3]
    assert not watcher.watching("k")
    await watcher.stop()
