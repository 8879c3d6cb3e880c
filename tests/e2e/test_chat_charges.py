"""Through the sandbox with an AI model: a chapter summary and a study question ask first when they may
cost more than BILLING_CONFIRM_ABOVE_CREDITS, call the model only once confirmed, and are charged."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from services.billing.service import BillingService
from tests.e2e.client import SandboxHarness, UserClient, text_of
from tests.e2e.test_chat import ask, button_labels, upload_book
from tests.fakes.llm_server import Answer
from tests.fakes.openai_server import FakeOpenAIServer

pytest_plugins = ["tests.fakes.fixtures"]


@pytest.fixture
def sandbox_app_factory(
    make_settings: Callable[..., Settings], openai_server: FakeOpenAIServer
) -> AppFactory:
    return librarity_app(
        make_settings(
            billing_free_max_books=50,
            billing_free_monthly_credits=100,
            billing_trial_days=0,
            billing_confirm_above_credits=0,  # every model call here may cost more: each asks first
            openai_api_key=openai_server.api_key,
            openai_base_url=openai_server.base_url,
            llm_order="openai",
            llm_retries=0,
            llm_timeout_seconds=5,
            scheduler_enabled=False,
        )
    )


async def _balance(sandbox: SandboxHarness, user_id: int) -> int:
    billing: BillingService = sandbox.running.dispatcher["billing"]
    async with sandbox.running.dispatcher["ctx"].session_factory() as session:
        return await billing.ledger.balance(session, user_id)


async def test_a_chapter_summary_and_a_study_question_ask_first_and_are_charged(
    sandbox_bot: SandboxHarness, user: UserClient, openai_server: FakeOpenAIServer
) -> None:
    await upload_book(user)
    before = await _balance(sandbox_bot, user.user_id)

    offer = await ask(user, "/summary", contains="Go ahead?")
    await user.tap_button(offer, "By chapter")
    picker = await user.wait_reply(int(offer["message_id"]), contains="Which chapter?")
    await user.tap_button(picker, button_labels(picker)[1])
    confirm = await user.wait_reply(int(picker["message_id"]), contains="costs up to")
    assert "Go ahead?" in text_of(confirm) and "The Grey Wolf" in text_of(confirm), text_of(confirm)
    assert openai_server.requests == [], "nothing is asked of the model before the reader agrees"

    openai_server.default = Answer("SHORT: The wolf helps.\nLONG: A grey wolf carries Ivan.\nTOPICS: wolf")
    await user.tap_button(confirm, "Summarise")
    summary = await user.wait_reply(int(confirm["message_id"]), contains="In short", timeout=60)
    assert "The wolf helps." in text_of(summary)
    after_summary = await _balance(sandbox_bot, user.user_id)
    assert after_summary < before, "the chapter summary was charged"

    menu = await ask(user, "/mode", contains="How should I answer")
    await user.tap_button(menu, "Study")
    chapters = await user.wait_reply(int(menu["message_id"]), contains="Which chapter")
    await user.tap_button(chapters, button_labels(chapters)[1])
    confirm = await user.wait_reply(int(chapters["message_id"]), contains="cost up to")
    calls = len(openai_server.requests)
    openai_server.script(
        Answer("QUESTION: Who carried Ivan?\nANSWER: The grey wolf"), Answer("VERDICT: correct\nYes.")
    )
    await user.tap_button(confirm, "Ask me")
    question = await user.wait_reply(int(confirm["message_id"]), contains="Who carried Ivan?")
    sent = await user.send("the grey wolf")
    await user.wait_reply(int(sent["message_id"]), contains="Right")
    assert len(openai_server.requests) == calls + 2
    assert await _balance(sandbox_bot, user.user_id) < after_summary, "the question and check were charged"
    assert question
