"""Quote cards through the sandbox: a passage from /search comes back as an image; another user's
passage is refused."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image

from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from handlers.cards import CardCb
from tests.e2e.client import SandboxHarness, UserClient, buttons_of, text_of
from tests.e2e.test_chat import ask, upload_book

pytest_plugins = ["tests.fakes.fixtures"]


@pytest.fixture
def sandbox_app_factory(make_settings: Callable[..., Settings]) -> AppFactory:
    return librarity_app(make_settings(billing_free_max_books=50))


async def test_a_search_passage_becomes_a_card(sandbox_bot: SandboxHarness, user: UserClient) -> None:
    await user.ask("/start")
    await upload_book(user)
    search = await ask(user, "/search Elena palace", contains="Found in your books")
    cards = [b for b in buttons_of(search) if str(b.get("callback_data", "")).startswith("card:")]
    assert cards and cards[0]["text"] == "🖼 Card 1"
    await user.tap(int(search["message_id"]), str(cards[0]["callback_data"]))
    photo = await user.wait_for(
        lambda messages: next((m for m in messages if m.get("photo")), None), after=int(search["message_id"])
    )
    assert "The Firebird" in text_of(photo)
    image = Image.open(io.BytesIO(await user.download(photo)))
    assert image.format == "PNG" and image.size[0] >= 1000

    # Someone else tapping forged data for that passage gets nothing drawn.
    other = sandbox_bot.user(language_code="ru")
    hello = await other.ask("/start")
    answer = await other.tap(int(hello["message_id"]), str(cards[0]["callback_data"]), force=True)
    assert "больше нет" in str(answer.get("text")), answer
    assert not [m for m in await other.messages() if m.get("photo")]
    assert CardCb.unpack(str(cards[0]["callback_data"])).chunk_id > 0
