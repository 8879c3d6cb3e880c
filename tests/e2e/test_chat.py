"""Talking to a book through the sandbox: typing, streamed drafts, answers with sources and buttons,
/new, /mode quotes, /summary offline and with a (fake) LLM, and a 10k-character answer split safely."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from tests.e2e.client import Message, SandboxHarness, UserClient, buttons_of, text_of
from tests.fakes.llm_server import Answer
from tests.fakes.openai_server import FakeOpenAIServer

pytest_plugins = ["tests.fakes.fixtures"]

BOOK_TIMEOUT = 180.0

FIREBIRD_MD = """# The Firebird

## Chapter 1. The Garden

Tsar Berendey had a garden with an apple tree that bore golden apples. Every night someone stole the
golden apples, and the Tsar asked his three sons to keep watch in the garden.

On the third night Ivan the youngest son saw the Firebird in the garden. He caught her by the tail, but
she escaped and left a golden feather in his hand.

## Chapter 2. The Grey Wolf

Ivan rode east to find the Firebird. At a crossroads a grey wolf ate his horse, and then the wolf offered
to carry Ivan on his back wherever he wished.

The wolf told Ivan to take the bird but not the golden cage. Ivan did not listen, and the guards caught him.

## Chapter 3. Elena the Beautiful

The wolf later helped Ivan win Elena the Beautiful, and they rode home together to the Tsar's palace.
"""


def is_progress(message: Message) -> bool:
    text = text_of(message)
    return "▰" in text or "▱" in text


async def upload_book(user: UserClient) -> Message:
    sent = await user.send_document(FIREBIRD_MD.encode(), filename="firebird.md")
    first = await user.wait_reply(int(sent["message_id"]), timeout=30)
    card = await user.wait_edit(int(first["message_id"]), lambda m: not is_progress(m), timeout=BOOK_TIMEOUT)
    assert "indexed" in text_of(card), text_of(card)
    return card


async def last_id(user: UserClient) -> int:
    messages = await user.messages(include_own=True)
    return max(int(m["message_id"]) for m in messages)


async def ask(user: UserClient, text: str, contains: str, wait: float = 60) -> Message:
    sent = await user.send(text)
    return await user.wait_reply(int(sent["message_id"]), contains=contains, timeout=wait)


def button_labels(message: Message) -> list[str]:
    return [b["text"] for b in buttons_of(message)]


async def failed_calls(user: UserClient) -> list[dict[str, Any]]:
    return [c for c in await user.calls() if not c.get("ok", True)]


# --- offline: no LLM configured ----------------------------------------------------------------------


class TestOffline:
    @pytest.fixture
    def sandbox_app_factory(self, make_settings: Callable[..., Settings]) -> AppFactory:
        return librarity_app(make_settings(billing_free_max_books=50))

    async def test_question_answer_sources_new_mode_and_summary(
        self, sandbox_bot: SandboxHarness, user: UserClient
    ) -> None:
        before = await user.send("Who stole the apples?")
        no_book = await user.wait_reply(int(before["message_id"]))
        assert "no books yet" in text_of(no_book)

        await upload_book(user)
        since = await user.control.last_call_seq()
        answer = await ask(user, "Who stole the golden apples?", contains="Sources")
        text = text_of(answer)
        assert "«" in text and "golden apples" in text and "[1]" in text
        assert "Chapter 1. The Garden" in text
        calls = await user.calls(since=since)
        methods = [c["method"] for c in calls]
        assert methods.index("sendChatAction") < methods.index("sendMessage")
        assert any(c["params"].get("action") == "typing" for c in calls if c["method"] == "sendChatAction")
        labels = button_labels(answer)  # a card button per numbered source, then the answer's own
        assert labels[-3:] == ["📖 Sources", "➕ More detail", "🆕 New topic"]
        assert labels[:-3] == [f"🖼 Card {n}" for n in range(1, len(labels) - 2)] and len(labels) > 3
        assert f"[{len(labels) - 3}]" in text and f"[{len(labels) - 2}]" not in text

        await user.tap_button(answer, "Sources")
        sources = await user.wait_reply(int(answer["message_id"]), contains="[1]")
        assert "Tsar Berendey had a garden" in text_of(sources)
        assert any(e["type"] == "expandable_blockquote" for e in sources.get("entities", []))

        await user.tap_button(answer, "More detail")
        more = await user.wait_reply(int(sources["message_id"]), contains="[1]")
        assert "Tsar Berendey had a garden" not in text_of(more)  # other passages than those shown

        reply = await ask(user, "/new", contains="New topic")
        assert "forgotten" in text_of(reply)

        menu = await ask(user, "/mode", contains="How should I answer")
        await user.tap_button(menu, "Quotes only")
        mode_set = await user.wait_reply(int(menu["message_id"]), contains="Mode:")
        assert "passages" in text_of(mode_set)
        quotes = await ask(user, "grey wolf horse", contains="Passages from")
        assert "ate his horse" in text_of(quotes) and "Chapter 2. The Grey Wolf" in text_of(quotes)

        summary = await ask(user, "/summary", contains="In short", wait=90)
        summary_text = text_of(summary)
        assert "Key topics" in summary_text and "no AI model" in summary_text
        # Computed once: the second time it comes from the table, the same.
        again = await ask(user, "/summary", contains="In short")
        assert text_of(again) == summary_text
        await user.tap_button(again, "By chapter")
        chapters = await user.wait_reply(int(again["message_id"]), contains="Which chapter")
        assert any("Grey Wolf" in label for label in button_labels(chapters))

        search = await ask(user, "/search Elena palace", contains="Found in your books")
        assert "The Firebird" in text_of(search) and "Elena the Beautiful" in text_of(search)

        menu = await ask(user, "/mode", contains="How should I answer")
        await user.tap_button(menu, "Study")
        picker = await user.wait_reply(int(menu["message_id"]), contains="Which chapter")
        assert any("Grey Wolf" in label for label in button_labels(picker))
        await user.tap_button(picker, "Grey Wolf")
        question = await user.wait_reply(int(picker["message_id"]), contains="Fill in the gap")
        assert "_____" in text_of(question) and "Chapter 2. The Grey Wolf" in text_of(question)
        verdict = await ask(user, "no idea at all", contains="Not quite")
        assert "The book says" in text_of(verdict)
        await user.tap_button(verdict, "Stop studying")
        await user.wait_reply(int(verdict["message_id"]), contains="Study mode is off")
        assert await failed_calls(user) == []


# --- with an LLM (the fake OpenAI server through the real SDK) ---------------------------------------


class TestWithLLM:
    @pytest.fixture
    def sandbox_app_factory(
        self, make_settings: Callable[..., Settings], openai_server: FakeOpenAIServer
    ) -> AppFactory:
        return librarity_app(
            make_settings(
                billing_free_max_books=50,
                openai_api_key=openai_server.api_key,
                openai_base_url=openai_server.base_url,
                llm_order="openai",
                llm_retries=0,
                llm_timeout_seconds=5,
            )
        )

    async def test_streamed_answer_summary_confirmation_and_long_answer(
        self, sandbox_bot: SandboxHarness, user: UserClient, openai_server: FakeOpenAIServer
    ) -> None:
        await upload_book(user)
        words = "Ivan **caught** the Firebird in the garden and kept her golden feather [1]. " * 3
        openai_server.script(Answer(words, chunk_delay=0.4))
        since = await user.control.last_call_seq()
        answer = await ask(user, "What did Ivan catch?", contains="Sources")
        assert "Ivan caught the Firebird" in text_of(answer)
        assert any(e["type"] == "bold" for e in answer.get("entities", []))
        calls = await user.calls(since=since)
        drafts = [c for c in calls if c["method"] == "sendMessageDraft"]
        assert drafts and all(c["ok"] for c in drafts)
        texts = [c["params"]["text"] for c in drafts]
        assert all(a != b for a, b in itertools.pairwise(texts)), "never the same text twice"

        openai_server.default = Answer(
            "SHORT: Ivan wins the Firebird.\nLONG: A long tale.\nTOPICS: courage; wolves"
        )
        offer = await ask(user, "/summary", contains="requests")
        assert "Go ahead?" in text_of(offer)
        requests_before = len(openai_server.requests)
        await user.tap_button(offer, "Summarise")
        summary = await user.wait_reply(int(offer["message_id"]), contains="In short", timeout=60)
        assert "Ivan wins the Firebird." in text_of(summary) and "courage" in text_of(summary)
        assert len(openai_server.requests) > requests_before

        paragraph = "The <golden> apples & the *wolf* were part of a very long story told again [1]. "
        openai_server.script(Answer("## Long\n\n" + paragraph * 130))
        first = await user.send("Tell me everything about the golden apples")
        long_parts = await user.wait_for(
            lambda ms: ms if any("Sources" in text_of(m) for m in ms) else None,
            after=int(first["message_id"]),
            timeout=60,
        )
        bodies = [m for m in long_parts if "golden" in text_of(m)]
        assert len(bodies) >= 3
        assert all(len(text_of(m)) <= 4096 for m in bodies)
        assert "<golden> apples & the wolf" in text_of(bodies[0])
        assert buttons_of(long_parts[-1]) and not buttons_of(bodies[0])
        assert await failed_calls(user) == []
