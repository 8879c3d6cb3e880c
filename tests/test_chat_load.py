"""Many questions at once, as a burst from one user or many users would send them, on SQLite and PostgreSQL:
no database connection is held while the model writes, and holds make credits and the day's limit exact."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.engine import create_engine, create_session_factory
from db.models.billing import LedgerEntry
from services.billing.chat_hooks import AnswerBilling
from services.billing.factory import build_billing
from services.billing.service import BillingService
from services.chat import EXTRACTIVE, AnswerResult, AnswerService, UsageRecorder
from services.llm import build_router
from services.search.index import SearchIndex
from tests.chat_fixtures import USER
from tests.fakes.openai_server import FakeOpenAIServer

pytest_plugins = ["tests.fakes.fixtures", "tests.chat_fixtures"]
pytestmark = [
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
    pytest.mark.parametrize("db_kind", ["sqlite", "postgres"], indirect=True),
]

POOL = 2  # far fewer connections than questions in flight


@pytest.fixture
async def small_pool(db_url: str, engine: AsyncEngine) -> Any:
    """A second engine on the test database with a tiny pool: an answer that kept its connection while
    the model writes would leave the others waiting for one until the pool timed out."""
    small = create_engine(db_url, pool_size=POOL, max_overflow=0, pool_timeout=60)
    yield create_session_factory(small)
    await small.dispose()


def llm_settings(
    make_settings: Callable[..., Settings], server: FakeOpenAIServer, **billing: Any
) -> Settings:
    return make_settings(
        openai_api_key=server.api_key,
        openai_base_url=server.base_url,
        llm_order="openai",
        llm_retries=0,
        llm_timeout_seconds=120,
        **billing,
    )


def answer_service(
    settings: Settings, factory: async_sessionmaker[AsyncSession], index: SearchIndex, *, llm: bool = True
) -> tuple[AnswerService, BillingService]:
    router = build_router(settings, usage_sink=UsageRecorder(factory)) if llm else None
    service = AnswerService(index, router)
    billing = build_billing(settings, factory)
    service.charges = AnswerBilling(billing)
    return service, billing


async def ask_all(
    service: AnswerService, factory: async_sessionmaker[AsyncSession], book_id: int, count: int
) -> list[asyncio.Task[AnswerResult]]:
    async def ask(n: int) -> AnswerResult:
        async with factory() as session:  # one session per update, as the bot's middleware opens it
            return await service.answer(
                session, user_id=USER, question=f"What did Ivan see in the garden, take {n}?", book_id=book_id
            )

    return [asyncio.create_task(ask(n)) for n in range(count)]


async def until(condition: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def test_questions_waiting_for_the_model_hold_no_connection(
    make_settings: Callable[..., Settings],
    openai_server: FakeOpenAIServer,
    small_pool: async_sessionmaker[AsyncSession],
    index: SearchIndex,
    book_id: int,
) -> None:
    settings = llm_settings(make_settings, openai_server, billing_free_questions_per_day=100)
    service, _billing = answer_service(settings, small_pool, index)
    openai_server.gate = asyncio.Event()
    count = 4 * POOL
    tasks = await ask_all(service, small_pool, book_id, count)
    # All of them reach the model at once, with two connections between them.
    await until(lambda: openai_server.waiting == count, f"{count} questions at the model together")
    openai_server.gate.set()
    results = await asyncio.gather(*tasks)
    assert [r.provider for r in results] == ["openai"] * count


async def test_a_burst_of_questions_is_charged_exactly_and_never_below_zero(
    make_settings: Callable[..., Settings],
    openai_server: FakeOpenAIServer,
    small_pool: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    index: SearchIndex,
    book_id: int,
) -> None:
    settings = llm_settings(
        make_settings, openai_server, billing_free_monthly_credits=10, billing_free_questions_per_day=100
    )
    service, billing = answer_service(settings, small_pool, index)
    openai_server.gate = asyncio.Event()
    count = 30
    tasks = await ask_all(service, small_pool, book_id, count)
    # Every question is either at the model (its credits held) or already refused before the gate opens.
    await until(
        lambda: openai_server.waiting + sum(t.done() for t in tasks) == count,
        "every question held or refused",
    )
    openai_server.gate.set()
    results = await asyncio.gather(*tasks)

    answered = [r for r in results if r.provider == "openai"]
    refused = [r for r in results if r.refusal is not None]
    assert answered and len(answered) + len(refused) == count
    assert {r.refusal.reason for r in refused} == {"no_credits"}
    price = billing.quote_answer(answered[0].usage)
    balance = await billing.ledger.balance(session, USER)
    assert balance == 10 - price * len(answered), "every answer paid its price, none was free"
    assert balance >= 0 and await billing.ledger.total(session, USER) == balance
    holds = await session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.reason == "answer")
    )
    assert holds and holds >= len(answered)


async def test_the_days_question_limit_holds_for_questions_sent_at_once(
    make_settings: Callable[..., Settings],
    small_pool: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    index: SearchIndex,
    book_id: int,
) -> None:
    settings = make_settings(billing_free_questions_per_day=5)
    service, billing = answer_service(settings, small_pool, index, llm=False)
    results = await asyncio.gather(*await ask_all(service, small_pool, book_id, 12))
    answered = [r for r in results if r.provider == EXTRACTIVE]
    refused = [r for r in results if r.refusal is not None]
    assert len(answered) == 5 and len(refused) == 7
    assert {r.refusal.reason for r in refused} == {"daily_limit"}
    account = await billing.ensure_account(session, USER)
    assert account.day_questions == 5
