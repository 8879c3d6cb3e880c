"""Input no honest client sends, through the sandbox on SQLite and PostgreSQL: numbers too large for the
database in buttons and /start links, and NUL characters in questions, titles, file names, captions and
names. The bot answers as usual and never apologises for an error."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.runner import AppFactory, librarity_app
from tests.e2e.client import Message, SandboxHarness, UserClient, buttons_of, find_button, text_of
from tests.e2e.test_chat import FIREBIRD_MD, is_progress

BOOK_TIMEOUT = 180.0
APOLOGY = "something went wrong"
STALE = "This button is no longer active."


@pytest.fixture(params=["sqlite", "postgres"])
def sandbox_app_factory(request: pytest.FixtureRequest, make_settings: Any) -> AppFactory:
    settings: dict[str, Any] = {"billing_trial_days": 0}  # no welcome gift arriving between replies
    if request.param == "postgres":
        settings["database_url"] = request.getfixturevalue("empty_pg_url")
    return librarity_app(make_settings(**settings))


async def no_apology(user: UserClient) -> None:
    shown = [text_of(m) for m in await user.messages()]
    assert not [t for t in shown if APOLOGY in t], shown


async def send_document_raw(user: UserClient, data: bytes, filename: str, caption: str) -> Message:
    """Send a file whose name or caption carries characters aiohttp's form encoder refuses (NUL)."""
    quoted = "".join(c if c.isalnum() or c in "._-" else f"%{ord(c):02X}" for c in filename)
    boundary = "librarity-test-boundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename*=utf-8''{quoted}\r\n"
        f"Content-Type: text/markdown\r\n\r\n".encode()
        + data
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n{caption}\r\n'
        f"--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    async with user.session.post(
        f"{user.base_url}/api/users/{user.user_id}/documents", data=body, headers=headers
    ) as response:
        assert response.status == 200, await response.text()
        sent = (await response.json())["message"]
    assert "\x00" in sent["document"]["file_name"] and "\x00" in sent["caption"]
    return dict(sent)


async def test_numbers_too_large_for_the_database_are_ignored(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    welcome = await user.ask("/start ref_99999999999999999999999")
    assert "Librarity" in text_of(welcome)
    huge = "9" * 30
    forged = [
        f"book:open:{huge}",
        "book:ask:3000000000",  # fits SQLite's INTEGER, not PostgreSQL's
        f"shelf:{huge}",
        f"chat:src:{huge}",
        f"sum:go:{huge}:",
        f"study:ask:{huge}:",
    ]
    for data in forged:
        answer = await user.tap(int(welcome["message_id"]), data, force=True)
        assert answer.get("answered") and answer.get("text") == STALE, (data, answer)
    for data in ("stg:hour:²", f"stg:hour:{huge}", f"stg:zone:{huge}"):
        answer = await user.tap(int(welcome["message_id"]), data, force=True)
        assert answer.get("answered"), (data, answer)

    invited = sandbox_bot.user()
    reply = await invited.ask(f"/start ref_{user.user_id}{huge}")
    assert "Librarity" in text_of(reply)
    await no_apology(user)
    await no_apology(invited)


async def test_nul_characters_are_dropped_where_text_comes_in(sandbox_bot: SandboxHarness) -> None:
    user = sandbox_bot.user(first_name="Iv\x00an")
    welcome = await user.ask("/start")
    assert "Hi, Ivan!" in text_of(welcome), text_of(welcome)

    sent = await send_document_raw(user, FIREBIRD_MD.encode(), "fire\x00bird.md", "my\x00 book")
    first = await user.wait_reply(int(sent["message_id"]), timeout=30)
    card = await user.wait_edit(int(first["message_id"]), lambda m: not is_progress(m), timeout=BOOK_TIMEOUT)
    assert "indexed" in text_of(card), text_of(card)

    answer = await user.ask("Who stole the\x00 golden apples?", timeout=60)
    assert "apple" in text_of(answer).lower(), text_of(answer)

    shelf = await user.ask("/books", contains="Your shelf")
    await user.tap_button(shelf, "Firebird")
    full = await user.wait_edit(int(shelf["message_id"]), lambda m: "Rename" in str(buttons_of(m)))
    await user.tap_button(full, "Rename")
    await user.wait_reply(int(full["message_id"]), contains="new title")
    renamed = await user.ask("The\x00 Firebird Tale", contains="Renamed")
    assert "The Firebird Tale" in text_of(renamed), text_of(renamed)
    shelf = await user.ask("/books", contains="Your shelf")
    assert find_button(shelf, "The Firebird Tale")
    await no_apology(user)
