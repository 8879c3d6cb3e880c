"""Inline mode in the Bot API emulator: answerInlineQuery is checked as Telegram checks it, and choosing
a result posts its message via the bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineQueryResultArticle, InlineQueryResultUnion, InputTextMessageContent

from bot.sandbox import SandboxConfig, SandboxEmulator
from tests.e2e.client import UserClient

TOKEN = "42:sandbox-test"


@pytest.fixture
async def emulator() -> AsyncIterator[SandboxEmulator]:
    async with SandboxEmulator(SandboxConfig(callback_wait=3.0)) as emulator:
        yield emulator


@pytest.fixture
async def bot(emulator: SandboxEmulator) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url)))
    yield bot
    await bot.session.close()


@pytest.fixture
async def user(emulator: SandboxEmulator) -> AsyncIterator[UserClient]:
    async with UserClient(emulator.base_url, 501, "en", first_name="Ann") as client:
        yield client


def article(result_id: str, text: str = "A passage") -> InlineQueryResultUnion:
    return InlineQueryResultArticle(
        id=result_id, title="Title", input_message_content=InputTextMessageContent(message_text=text)
    )


async def inline_query_id(bot: Bot, user: UserClient, words: str) -> tuple[str, asyncio.Task[dict]]:
    asking = asyncio.create_task(user.inline(words))
    updates = await bot.get_updates(timeout=5)
    assert updates and updates[0].inline_query is not None
    await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert updates[0].inline_query.query == words
    assert updates[0].inline_query.from_user.id == 501
    return updates[0].inline_query.id, asking


async def refusal(call: object) -> str:
    with pytest.raises(TelegramBadRequest) as caught:
        await call  # type: ignore[misc]
    return caught.value.message


async def test_answer_reaches_the_user_and_choosing_posts_it_via_the_bot(bot: Bot, user: UserClient) -> None:
    query_id, asking = await inline_query_id(bot, user, "firebird")
    results = [article("a", "<b>Bold</b> &amp; plain"), article("b")]
    assert await bot.answer_inline_query(query_id, results, cache_time=0, is_personal=True)
    answer = await asking
    assert answer["answered"] and [r["id"] for r in answer["results"]] == ["a", "b"]
    assert answer["results"][0]["message"]["text"] == "<b>Bold</b> &amp; plain"  # no parse_mode: as written
    posted = await user.choose_inline(query_id, "b")
    assert posted["text"] == "A passage" and posted["via_bot"]["is_bot"]
    kinds = [
        next(k for k in u.model_dump(exclude_none=True) if k != "update_id") for u in await bot.get_updates()
    ]
    assert kinds == ["message", "chosen_inline_result"]
    # A second answer to the same query is too old, as on Telegram.
    assert "query is too old" in await refusal(bot.answer_inline_query(query_id, []))


async def test_invalid_answers_get_telegrams_errors(bot: Bot, user: UserClient) -> None:
    query_id, asking = await inline_query_id(bot, user, "x")
    too_many = [article(str(i)) for i in range(51)]
    assert await refusal(bot.answer_inline_query(query_id, too_many)) == "Bad Request: RESULTS_TOO_MUCH"
    duplicate = [article("same"), article("same")]
    assert await refusal(bot.answer_inline_query(query_id, duplicate)) == "Bad Request: RESULT_ID_DUPLICATE"
    long_id = [article("é" * 33)]  # 66 bytes
    assert await refusal(bot.answer_inline_query(query_id, long_id)) == "Bad Request: RESULT_ID_INVALID"
    long_text = [article("a", "x" * 4097)]
    assert await refusal(bot.answer_inline_query(query_id, long_text)) == "Bad Request: message is too long"
    assert (
        await refusal(bot.answer_inline_query(query_id, [], cache_time=-1))
        == "Bad Request: CACHE_TIME_INVALID"
    )
    # After the refusals the query is still open: 50 results are fine.
    assert await bot.answer_inline_query(query_id, [article(str(i)) for i in range(50)])
    assert len((await asking)["results"]) == 50
