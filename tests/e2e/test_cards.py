"""Quote cards through the sandbox: a passage from /search or a quote in an answer comes back as an image
with its deep link and a Share button; another user's passage is refused; the deep link opened by a second
user shows the quote and counts a view (not the maker's own opens); the admin sees it among the top."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from handlers.admin.callbacks import MenuCb, Section
from handlers.cards import PassageCardCb
from tests.e2e.client import Message, SandboxHarness, UserClient, buttons_of, find_button, text_of
from tests.e2e.test_chat import ask, upload_book

pytest_plugins = ["tests.fakes.fixtures"]

OWNER = 5_100_001
BOT = "librarity_sandbox_bot"


@pytest.fixture
def sandbox_app_factory(make_settings: Callable[..., Settings]) -> AppFactory:
    return librarity_app(make_settings(billing_free_max_books=50, billing_trial_days=0, admin_ids=[OWNER]))


def card_buttons(message: Message) -> list[dict[str, object]]:
    return [b for b in buttons_of(message) if str(b.get("callback_data", "")).startswith("cardp:")]


async def tap_card(user: UserClient, message: Message, index: int = 0) -> Message:
    """Tap the message's n-th "🖼 Card" button and wait for the photo."""
    cards = card_buttons(message)
    await user.tap(int(message["message_id"]), str(cards[index]["callback_data"]))
    return await user.wait_for(
        lambda messages: next((m for m in messages if m.get("photo")), None), after=int(message["message_id"])
    )


def quote_id_of(photo: Message) -> int:
    """The id in the card's deep link (the caption), checked against its Share button."""
    found = re.search(rf"https://t\.me/{BOT}\?start=q_(\d+)", text_of(photo))
    assert found, text_of(photo)
    share = str(find_button(photo, "Share")["url"])
    assert share.startswith("https://t.me/share/url?")
    assert parse_qs(urlsplit(share).query)["url"] == [found.group(0)]
    return int(found.group(1))


async def test_a_search_passage_becomes_a_card(sandbox_bot: SandboxHarness, user: UserClient) -> None:
    await user.ask("/start")
    await upload_book(user)
    search = await ask(user, "/search Elena palace", contains="Found in your books")
    cards = card_buttons(search)
    assert cards and cards[0]["text"] == "🖼 Card 1"
    photo = await tap_card(user, search)
    assert "The Firebird" in text_of(photo)
    image = Image.open(io.BytesIO(await user.download(photo)))
    assert image.format == "PNG" and image.size[0] >= 1000
    data = PassageCardCb.unpack(str(cards[0]["callback_data"]))
    assert data.book_id > 0 and data.seq >= 0
    # The card is the passage shown first under the search (its place in its book, not another's).
    opened = await ask(sandbox_bot.user(), f"/start q_{quote_id_of(photo)}", contains="shared this quote")
    passage = "The wolf later helped Ivan win Elena the Beautiful"
    assert passage in text_of(search) and passage in text_of(opened), text_of(opened)
    assert "The Firebird, Chapter 3. Elena the Beautiful" in text_of(opened)

    # Someone else tapping forged data for that passage gets nothing drawn.
    other = sandbox_bot.user(language_code="ru")
    hello = await other.ask("/start")
    answer = await other.tap(int(hello["message_id"]), str(cards[0]["callback_data"]), force=True)
    assert "больше нет" in str(answer.get("text")), answer
    assert not [m for m in await other.messages() if m.get("photo")]


async def test_a_quote_in_an_answer_is_shared_opened_and_counted(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    await user.ask("/start")
    await upload_book(user)
    answer = await ask(user, "Who stole the golden apples?", contains="Sources")
    assert [b["text"] for b in card_buttons(answer)][:1] == ["🖼 Card 1"]
    photo = await tap_card(user, answer)
    quote_id = quote_id_of(photo)
    assert "The Firebird" in text_of(photo)

    # Sent again: the same quote, one share more (the same link).
    again = await tap_card(user, answer)
    assert quote_id_of(again) == quote_id

    # The maker's own open shows it without counting a view.
    own = await ask(user, f"/start q_{quote_id}", contains="shared this quote")
    assert "The Firebird" in text_of(own)

    # A second user follows the link: the quote, the book, an invitation; one view counted.
    friend = sandbox_bot.user(language_code="ru")
    opened = await ask(friend, f"/start q_{quote_id}", contains="поделились")
    assert "The Firebird" in text_of(opened) and "Пришлите мне книгу" in text_of(opened)
    assert "Tsar Berendey" in text_of(opened) or "apples" in text_of(opened)
    # A newcomer also gets the welcome.
    assert await friend.wait_reply(int(opened["message_id"]), contains="Librarity", timeout=30)

    gone = await ask(friend, "/start q_999999", contains="больше не делятся")
    assert "The Firebird" not in text_of(gone)

    # The admin's "Top quotes": two cards sent, one view.
    owner = sandbox_bot.user(OWNER)
    menu = await ask(owner, "/admin", contains="Choose a section")
    data = MenuCb(section=Section.QUOTES).pack()
    assert data in {b.get("callback_data") for b in buttons_of(menu)}
    await owner.tap(int(menu["message_id"]), data)
    top = await owner.wait_edit(int(menu["message_id"]), lambda m: "Most shared" in text_of(m))
    assert "1. 📤 2 · 👁 1 — The Firebird" in text_of(top), text_of(top)
    assert f"#{quote_id}" in text_of(top)

    # Someone not an admin gets no list.
    refused = await friend.tap(int(opened["message_id"]), data, force=True)
    assert "Most shared" not in str(refused.get("text"))
