"""A Russian question about an English book, through the sandbox: the bot asks the (fake) LLM for the
question in English, searches with both, and the answer cites the right passage of the English book."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from tests.e2e.client import SandboxHarness, UserClient, text_of
from tests.e2e.test_chat import ask, upload_book
from tests.fakes.llm_server import Answer
from tests.fakes.translating_server import TranslatingOpenAIServer

STOLEN = "Что крали каждую ночь?"
KEY = "sk-translating-test-key"


@pytest.fixture
async def server() -> AsyncIterator[TranslatingOpenAIServer]:
    async with TranslatingOpenAIServer({STOLEN: "What was stolen every night?"}, api_key=KEY) as running:
        yield running


@pytest.fixture
def sandbox_app_factory(
    make_settings: Callable[..., Settings], server: TranslatingOpenAIServer
) -> AppFactory:
    return librarity_app(
        make_settings(
            billing_free_max_books=50,
            openai_api_key=KEY,
            openai_base_url=server.base_url,
            llm_order="openai",
            llm_retries=0,
            llm_timeout_seconds=5,
        )
    )


async def test_russian_question_cites_the_english_passage(
    sandbox_bot: SandboxHarness, user: UserClient, server: TranslatingOpenAIServer
) -> None:
    await upload_book(user)
    server.default = Answer("Every night someone stole the golden apples [1].")
    answer = await ask(user, STOLEN, contains="Sources")
    assert "golden apples" in text_of(answer)
    assert server.translated == [STOLEN]
    grounded = server.requests[-1]
    assert grounded.last_user_text and STOLEN in grounded.last_user_text
    await user.tap_button(answer, "Sources")
    sources = await user.wait_reply(int(answer["message_id"]), contains="[1]")
    first = text_of(sources).split("[2]")[0]
    assert "Every night someone stole" in " ".join(first.split()), text_of(sources)

    # Quotes only: no answer from the model, the search alone (the translation is cached).
    menu = await ask(user, "/mode", contains="How should I answer")
    await user.tap_button(menu, "Quotes only")
    await user.wait_reply(int(menu["message_id"]), contains="Mode:")
    asked = len(server.requests)
    quotes = await ask(user, STOLEN, contains="Passages from")
    assert "someone stole" in " ".join(text_of(quotes).split())
    assert len(server.requests) == asked
