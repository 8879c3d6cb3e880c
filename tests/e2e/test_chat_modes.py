"""Searching all books is a mode that stays until the user leaves it, and every result says so."""

from __future__ import annotations

from tests.e2e.client import UserClient, text_of
from tests.e2e.test_chat import ask, upload_book


async def test_search_all_books_stays_on_until_left(user: UserClient) -> None:
    await user.ask("/start")
    await upload_book(user)
    menu = await ask(user, "/mode", contains="How should I answer")
    await user.tap_button(menu, "Search all my books")
    await user.wait_reply(int(menu["message_id"]), contains="What should I look for")

    first = await ask(user, "golden apples", contains="Found in your books")
    second = await ask(user, "grey wolf horse", contains="Found in your books")
    for found in (first, second):
        assert "Searching all your books" in text_of(found), "each result says the mode is on"

    await user.tap_button(second, "Ask my book again")
    back = await user.wait_reply(int(second["message_id"]), contains="Back to asking")
    assert "The Firebird" in text_of(back)
    answer = await ask(user, "Who ate Ivan's horse?", contains="wolf")
    assert "Found in your books" not in text_of(answer) and "Searching all" not in text_of(answer)
