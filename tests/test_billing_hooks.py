"""Billing's hooks into answering and ingestion: charged with the record, limits, refunds, referrals."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Book, BookStatus, User
from services.billing.chat_hooks import AnswerBilling
from services.billing.factory import build_billing
from services.billing.ingestion_hooks import IngestionBilling, book_pages
from services.billing.service import AnswerHold, BillingService, ReferralBonus
from services.ingestion.service import IngestionRejected
from services.llm import LLMUsage

USAGE = LLMUsage("gemini", "gemini-2.5-flash", input_tokens=4000, output_tokens=800, cost_usd=0.0)


class Notices:
    def __init__(self) -> None:
        self.low: list[tuple[int, int]] = []
        self.referrals: list[ReferralBonus] = []

    async def low_credits(self, user_id: int, balance: int) -> None:
        self.low.append((user_id, balance))

    async def referral_bonus(self, bonus: ReferralBonus) -> None:
        self.referrals.append(bonus)


@pytest.fixture
def billing(make_settings) -> BillingService:  # type: ignore[no-untyped-def]
    return build_billing(
        make_settings(
            billing_free_monthly_credits=10,
            billing_free_max_books=2,
            billing_referral_bonus=5,
            billing_ingest_credits_per_100_pages=2,
            gemini_api_key="k",
        )
    )


def _answer(turn_id: int | None, **fields: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "found": True,
        "turn_id": turn_id,
        "usage": [USAGE],
        "cached": False,
        "degraded": False,
    }
    values.update(fields)
    return SimpleNamespace(**values)


async def test_an_answer_holds_its_price_then_is_settled_with_its_record(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    notices = Notices()
    hook = AnswerBilling(billing, notices)

    async def hold() -> AnswerHold:
        held = await hook.hold(session, 1, input_tokens=3000, output_tokens=900, question=True)
        await session.commit()
        assert held.ok
        return held

    async with session_factory() as session:
        await billing.ensure_account(session, 1)
        await session.commit()
        held = await hold()
        assert 1 <= held.credits <= 10 and await billing.ledger.balance(session, 1) == 10 - held.credits
        await hook.settle(session, 1, held, _answer(1))
        await session.rollback()  # the answer was not recorded after all: neither is its charge
        await hook.settle(session, 1, held, None)  # so the hold is given back
        await session.commit()
        assert await billing.ledger.balance(session, 1) == 10
        await hook.settle(session, 1, await hold(), _answer(2))
        await session.commit()
        assert await billing.ledger.balance(session, 1) == 6, "settled to the answer's real price"
        assert notices.low == []
        for free in (_answer(3, cached=True), _answer(4, degraded=True), _answer(None, found=False)):
            await hook.settle(session, 1, await hold(), free)
            await session.commit()
        assert await billing.ledger.balance(session, 1) == 6, "cached, failed-over and empty answers are free"
        await hook.settle(session, 1, await hold(), _answer(5))
        assert notices.low == [], "the warning waits for the commit"
        await session.commit()
        await asyncio.sleep(0)
        assert notices.low == [(1, 2)], "80% of 10 credits used: one warning"
        assert await billing.ledger.total(session, 1) == 2


async def test_an_answer_over_the_balance_is_refused_at_the_hold(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    hook = AnswerBilling(billing)
    async with session_factory() as session:
        await billing.ensure_account(session, 1)
        await billing.ledger.charge(session, 1, 10, "test", None, "test:empty")
        await session.commit()
        held = await hook.hold(session, 1, input_tokens=3000, output_tokens=900, question=True)
        await session.commit()
        assert not held.ok and held.refusal.reason == "no_credits"
        account = await billing.ensure_account(session, 1)
        assert account.day_questions == 0, "a refused question does not count against the day"


async def _book(
    session: AsyncSession, book_id: int, user_id: int, *, pages: int | None = 150, size: int = 1000
) -> Book:
    book = Book(
        id=book_id, user_id=user_id, file_sha256=f"{book_id:064d}", file_name=f"b{book_id}.pdf", file_size=size,
        pages=pages, chars=9000, status=BookStatus.PROCESSING, progress=0.2, attempts=1, chunks=0,
    )  # fmt: skip
    session.add(book)
    await session.commit()
    return book


async def test_a_book_is_charged_before_indexing_within_the_plan(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    notices = Notices()
    hooks = IngestionBilling(billing, session_factory, notices)
    async with session_factory() as session:
        session.add(User(id=2, first_name="A", language="en", settings={}))
        await billing.ensure_account(session, 2)
        await session.commit()
        first = await _book(session, 11, 2)
        big = await _book(session, 12, 2, size=11 * 1024 * 1024)
    assert book_pages(SimpleNamespace(pages=None, chars=3700)) == 3

    await hooks.before_index(first)  # 150 pages: 4 credits
    await hooks.before_index(first)  # a retry after a transient failure is not charged again
    with pytest.raises(IngestionRejected) as too_large:
        await hooks.before_index(big)
    assert too_large.value.code == "too_large"
    async with session_factory() as session:
        assert await billing.ledger.balance(session, 2) == 6
        third = await _book(session, 13, 2, pages=400)
    with pytest.raises(IngestionRejected) as limit:
        await hooks.before_index(third)
    assert limit.value.code == "books_limit" and limit.value.details == {"limit": 2}

    await hooks.on_progress(first, "failed", 0.3)
    await hooks.on_progress(first, "failed", 0.3)
    async with session_factory() as session:
        assert await billing.ledger.balance(session, 2) == 10, "a failed book's credits come back once"
        book = await session.get(Book, 12)
        assert book is not None
        await session.delete(book)
        await session.commit()
    await hooks.before_index(third)  # room on the shelf again: 400 pages, 8 of the 10 credits
    async with session_factory() as session:
        assert await billing.ledger.balance(session, 2) == 2 == await billing.ledger.total(session, 2)


async def test_out_of_credits_refuses_the_book_and_referral_pays_once(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    notices = Notices()
    hooks = IngestionBilling(billing, session_factory, notices)
    async with session_factory() as session:
        session.add(User(id=3, first_name="R", language="en", settings={}))
        session.add(User(id=4, first_name="I", language="en", settings={}, referrer_id=3))
        await billing.ensure_account(session, 4)
        await session.commit()
        huge = await _book(session, 21, 4, pages=900)  # 18 credits
        small = await _book(session, 22, 4, pages=10)
    with pytest.raises(IngestionRejected) as refused:
        await hooks.before_index(huge)
    assert refused.value.code == "no_credits" and refused.value.details == {"cost": 18, "balance": 10}
    await hooks.before_index(small)
    await hooks.on_progress(small, "ready", 1.0)
    await hooks.on_progress(small, "ready", 1.0)
    assert [(b.referrer_id, b.invitee_id, b.bonus) for b in notices.referrals] == [(3, 4, 5)]
    async with session_factory() as session:
        assert await billing.ledger.balance(session, 4) == 10 - 2 + 5
        assert await billing.ledger.balance(session, 3) == 10 + 5


async def test_a_whole_book_llm_summary_is_charged_as_it_is_stored(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    hook = AnswerBilling(billing, Notices())
    async with session_factory() as session:
        await billing.ensure_account(session, 5)
        await session.commit()
        assert (await billing.check_can_afford(session, 5, "summary")).reason == "no_credits", "20 > 10"
        chapter = SimpleNamespace(scope="chapter:c1", method="llm", book_id=1)
        fallback = SimpleNamespace(scope="book", method="extractive", book_id=1)
        await hook.before_store(session, 5, chapter)
        await hook.before_store(session, 5, fallback)
        assert await billing.ledger.balance(session, 5) == 10, "chapters and the extractive fallback are free"
        await hook.before_store(session, 5, SimpleNamespace(scope="book", method="llm", book_id=1))
        await session.commit()
        assert await billing.ledger.balance(session, 5) == 0, (
            "made already: takes what is left, never below 0"
        )
        assert await billing.ledger.total(session, 5) == 0


async def test_answers_use_the_models_of_the_users_plan(
    make_settings,
    session_factory: async_sessionmaker[AsyncSession],  # type: ignore[no-untyped-def]
) -> None:
    billing = build_billing(make_settings(billing_pro_models={"openai": "gpt-4.1"}, gemini_api_key="k"))
    hook = AnswerBilling(billing)
    async with session_factory() as session:
        await billing.ensure_account(session, 1)
        await session.commit()
        assert await hook.models_for(session, 1) == {}, "Free uses each provider's configured model"
        await billing.activate_plan(
            session, 1, "pro", expires_at=None, credits=0, idempotency_key="test:pro", ref="test"
        )
        await session.commit()
        assert await hook.models_for(session, 1) == {"openai": "gpt-4.1"}
