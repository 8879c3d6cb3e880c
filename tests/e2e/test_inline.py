"""Inline mode through the sandbox: `@bot words` searches only the asking user's own shelf; choosing a
result posts the passage via the bot."""

from __future__ import annotations

from tests.e2e.client import SandboxHarness, UserClient
from tests.e2e.test_chat import is_progress, upload_book

pytest_plugins = ["tests.fakes.fixtures"]

LIGHTHOUSE_MD = """# The Lighthouse Keeper

## Chapter 1

Old Bartholomew kept the lighthouse on Gull Rock for forty winters. Every evening he climbed the
spiral stair, trimmed the great lamp and watched the zeppelin lights drift over the harbour.

## Chapter 2

One stormy night the zeppelin came down in the bay, and Bartholomew rowed out through the waves to
pull its crew from the cold water before the tide turned.
"""


async def upload(user: UserClient, text: str, name: str) -> None:
    sent = await user.send_document(text.encode(), filename=name)
    reply = await user.wait_reply(int(sent["message_id"]), timeout=30)
    await user.wait_edit(int(reply["message_id"]), lambda m: not is_progress(m), timeout=120)


def texts(answer: dict) -> str:
    return "\n".join(r["message"]["text"] + " " + r.get("description", "") for r in answer["results"])


async def test_inline_search_offers_only_the_users_own_passages(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    # Before any book: no results, a button that opens the bot to send one.
    await user.ask("/start")
    empty = await user.inline("Elena")
    assert empty["answered"] and empty["results"] == []
    assert empty["button"]["start_parameter"] == "inline" and "book" in empty["button"]["text"]

    await upload_book(user)
    other = sandbox_bot.user(language_code="ru")
    await other.ask("/start")
    await upload(other, LIGHTHOUSE_MD, "lighthouse.md")

    mine = await user.inline("Elena palace")
    assert mine["answered"] and mine["results"], mine
    assert "Elena" in texts(mine) and "Bartholomew" not in texts(mine)
    assert mine["is_personal"]
    # Words only the other user's book has find nothing of it.
    theirs = await user.inline("Bartholomew zeppelin lighthouse")
    assert "Bartholomew" not in texts(theirs) and "zeppelin" not in texts(theirs)
    # And the other user finds their own book, never the Firebird.
    their_own = await other.inline("Bartholomew zeppelin lighthouse")
    assert "Bartholomew" in texts(their_own) and "Elena" not in texts(their_own)
    assert "Elena" not in texts(await other.inline("Elena palace"))

    # An empty query lists the user's books.
    recent = await user.inline("")
    assert [r["title"] for r in recent["results"]] == ["The Firebird"]

    # Choosing a result posts it as the user's message, via the bot.
    chosen = mine["results"][0]
    posted = await user.choose_inline(mine["query_id"], chosen["id"])
    assert posted["via_bot"]["is_bot"] and "Elena" in posted["text"]
    assert "<" not in posted["text"]  # the HTML was parsed, not shown
    assert [e for e in posted.get("entities", []) if e["type"] == "blockquote"]


async def test_a_passage_posted_via_the_bot_is_not_taken_for_a_question(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    """The update is fed to the dispatcher and awaited, so whatever the bot would send for it has been
    sent when it returns: a question about the book would be answered, a posted passage is not."""
    from datetime import UTC, datetime

    from aiogram.types import Update

    await upload_book(user)
    running = sandbox_bot.running
    me = await running.bot.me()
    before = len(await user.calls())

    def update(update_id: int, via_bot: bool) -> Update:
        message = {
            "message_id": 900_000 + update_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": user.user_id, "type": "private", "first_name": "Ann"},
            "from": {"id": user.user_id, "is_bot": False, "first_name": "Ann"},
            "text": "Who is Elena?",
        }
        if via_bot:
            message["via_bot"] = {
                "id": me.id,
                "is_bot": True,
                "first_name": me.first_name,
                "username": me.username,
            }
        return Update.model_validate({"update_id": 800_000 + update_id, "message": message})

    await running.dispatcher.feed_update(running.bot, update(1, via_bot=True))
    sent = [c for c in (await user.calls())[before:] if c["method"].lower().startswith("sendmessage")]
    assert sent == []
    # The same words typed by the user are a question, and get an answer.
    await running.dispatcher.feed_update(running.bot, update(2, via_bot=False))
    sent = [c for c in (await user.calls())[before:] if c["method"].lower().startswith("sendmessage")]
    assert sent
