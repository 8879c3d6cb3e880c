"""Chapter summaries and study questions made by the model are charged like answers (held, then settled
to their usage); their offline fallbacks are free; a short balance refuses them before the model is
called, also when many are asked at once (both databases)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from services.billing.chat_hooks import AnswerBilling
from services.billing.factory import build_billing
from services.billing.service import BillingService
from services.chat.charging import ChargeRefused
from services.chat.study import StudyService
from services.chat.summaries import SummaryService
from services.llm import LLMRouter, LLMUsage
from tests.chat_fixtures import USER
from tests.fakes.llm_server import Answer, Fail
from tests.fakes.openai_server import FakeOpenAIServer

pytest_plugins = ["tests.fakes.fixtures", "tests.chat_fixtures"]

BOTH = pytest.mark.parametrize("db_kind", ["sqlite", "postgres"], indirect=True)
# Token counts large enough that a call costs more than the minimum price.
IN, OUT = 40_000, 8_000
QUESTION = Answer(
    "QUESTION: What did the grey wolf eat?\nANSWER: Ivan's horse", input_tokens=IN, output_tokens=OUT
)
CHECK = Answer("VERDICT: correct\nYes, the horse.", input_tokens=IN, output_tokens=OUT)


@pytest.fixture
def billing(make_settings: Callable[..., Settings], openai_server: FakeOpenAIServer) -> BillingService:
    return build_billing(
        make_settings(
            billing_free_monthly_credits=100,
            billing_trial_days=0,
            openai_api_key=openai_server.api_key,
            openai_base_url=openai_server.base_url,
            llm_order="openai",
        )
    )


def _price(billing: BillingService) -> int:
    """What one call of IN and OUT tokens costs on the Free plan's model."""
    model = billing.catalog.plan_limits("free").model_for("openai", billing.settings.openai_model) or ""
    return billing.quote_answer(LLMUsage("openai", model, IN, OUT, 0.0))


async def _balance(billing: BillingService, session_factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_factory() as session:
        balance = await billing.ledger.balance(session, USER)
        assert balance == await billing.ledger.total(session, USER), "the ledger sums to the balance"
        return balance


def _charged(service: Any, billing: BillingService) -> Any:
    service.charges = AnswerBilling(billing)
    return service


@BOTH
async def test_a_chapter_summary_is_charged_by_its_usage_and_its_fallback_is_free(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession], book_id: int,
    openai_router: LLMRouter, openai_server: FakeOpenAIServer,
) -> None:  # fmt: skip
    price = _price(billing)
    assert price > billing.settings.billing_question_min_credits
    text = "SHORT: The wolf.\nLONG: A grey wolf helps Ivan.\nTOPICS: wolf"
    openai_server.default = Answer(text, input_tokens=IN, output_tokens=OUT)
    summaries = _charged(SummaryService(openai_router), billing)
    async with session_factory() as session:
        chapters = await summaries.chapters(session, book_id)
        summary = await summaries.summarise(session, user_id=USER, book_id=book_id, chapter=chapters[1].key)
    assert summary is not None and summary.method == "llm" and summary.llm_calls == len(summary.usage) >= 1
    charged = billing.quote_answer(summary.usage)
    assert charged == price * summary.llm_calls, "every call the summary took"
    assert await _balance(billing, session_factory) == 100 - charged

    openai_server.default = Fail(500)
    async with session_factory() as session:
        fallback = await summaries.summarise(session, user_id=USER, book_id=book_id, chapter=chapters[2].key)
    assert fallback is not None and fallback.method == "extractive"
    assert await _balance(billing, session_factory) == 100 - charged, "the extractive fallback is free"


@BOTH
async def test_a_study_question_and_its_check_are_charged_and_a_gap_question_is_free(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession], book_id: int,
    openai_router: LLMRouter, openai_server: FakeOpenAIServer,
) -> None:  # fmt: skip
    price = _price(billing)
    openai_server.script(QUESTION, CHECK)
    study = _charged(StudyService(openai_router, rng=random.Random(1)), billing)
    async with session_factory() as session:
        question = await study.question(session, user_id=USER, book_id=book_id)
        assert question is not None and question.method == "llm"
        assert await _balance(billing, session_factory) == 100 - price
        check = await study.check(question, "the horse", user_id=USER, session=session)
    assert check.verdict == "correct"
    assert await _balance(billing, session_factory) == 100 - 2 * price

    openai_server.default = Fail(500)
    async with session_factory() as session:
        gap = await study.question(session, user_id=USER, book_id=book_id)
    assert gap is not None and gap.method == "gap"
    assert await _balance(billing, session_factory) == 100 - 2 * price, "the gap question is free"


@BOTH
async def test_many_study_questions_at_once_never_go_unpaid(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession], book_id: int,
    openai_router: LLMRouter, openai_server: FakeOpenAIServer,
) -> None:  # fmt: skip
    small = Answer(QUESTION.text)  # a question of the size the hold expects: the least price
    model = billing.catalog.plan_limits("free").model_for("openai", billing.settings.openai_model) or ""
    usage = LLMUsage("openai", model, small.input_tokens, small.output_tokens, 0.0)
    assert billing.quote_answer(usage) == billing.settings.billing_question_min_credits == 1
    async with session_factory() as session:
        await billing.ensure_account(session, USER)
        await billing.ledger.take(session, USER, 97, "test", None, "test:left")  # 3 credits left
        await session.commit()
    openai_server.default = small
    study = _charged(StudyService(openai_router), billing)

    async def ask() -> bool:
        async with session_factory() as session:
            try:
                made = await study.question(session, user_id=USER, book_id=book_id)
            except ChargeRefused as refused:
                assert refused.refusal.reason == "no_credits"
                return False
            assert made is not None and made.method == "llm"
            return True

    results = await asyncio.gather(*(ask() for _ in range(10)))
    made = sum(results)
    assert 1 <= made <= 3, results
    assert len(openai_server.requests) == made, "a refused question never reached the model"
    assert await _balance(billing, session_factory) == 3 - made >= 0


@BOTH
async def test_a_zero_balance_refuses_before_the_model_is_called(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession], book_id: int,
    openai_router: LLMRouter, openai_server: FakeOpenAIServer,
) -> None:  # fmt: skip
    async with session_factory() as session:
        await billing.ensure_account(session, USER)
        await billing.ledger.take(session, USER, 100, "test", None, "test:all")
        await session.commit()
        summaries = _charged(SummaryService(openai_router), billing)
        chapters = await summaries.chapters(session, book_id)
        with pytest.raises(ChargeRefused):
            await summaries.summarise(session, user_id=USER, book_id=book_id, chapter=chapters[0].key)
        assert await summaries.stored(session, book_id, chapters[0].key) is None
        with pytest.raises(ChargeRefused):
            await _charged(StudyService(openai_router), billing).question(
                session, user_id=USER, book_id=book_id
            )
    assert openai_server.requests == []
    assert await _balance(billing, session_factory) == 0
