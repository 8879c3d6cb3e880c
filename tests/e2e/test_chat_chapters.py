"""A long book in two volumes, wrapped like Project Gutenberg, through the sandbox: the chapter picker
is paged, each volume's chapters are told apart, a study question from the last page reads as one line
of whole words, and an answer without an AI model quotes the book without its line breaks."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from tests.e2e.client import SandboxHarness, UserClient, buttons_of, text_of
from tests.e2e.test_chat import BOOK_TIMEOUT, ask, button_labels, failed_calls, is_progress

ROMAN = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
    "XIII", "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX", "XXI", "XXII", "XXIII",
]  # fmt: skip
BOATS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "many"]


def volume(name: str, number: int) -> str:
    """A volume of 23 chapters that numbers them afresh, wrapped like Project Gutenberg."""
    chapters = [
        f"CHAPTER {roman}\n\n"
        f"In chapter {n} of the {name} volume the keeper of the lighthouse walked to\n"
        f"the harbour and counted {BOATS[n % len(BOATS)]} boats before the gulls came back."
        for n, roman in enumerate(ROMAN, start=1)
    ]
    return f"VOLUME {'I' * number}\n\n" + "\n\n\n".join(chapters)


BOOK = "The Keeper\n\n\n" + volume("first", 1) + "\n\n\n" + volume("second", 2) + "\n"


class TestChapterPicker:
    @pytest.fixture
    def sandbox_app_factory(self, make_settings: Callable[..., Settings]) -> AppFactory:
        return librarity_app(make_settings(billing_free_max_books=50))

    async def test_a_long_book_in_volumes_is_paged_and_each_chapter_told_apart(
        self, sandbox_bot: SandboxHarness, user: UserClient
    ) -> None:
        sent = await user.send_document(BOOK.encode(), filename="keeper.txt")
        first = await user.wait_reply(int(sent["message_id"]), timeout=30)
        card = await user.wait_edit(
            int(first["message_id"]), lambda m: not is_progress(m), timeout=BOOK_TIMEOUT
        )
        assert "indexed" in text_of(card), text_of(card)

        menu = await ask(user, "/mode", contains="How should I answer")
        await user.tap_button(menu, "Study")
        picker = await user.wait_reply(int(menu["message_id"]), contains="Which chapter")
        labels = button_labels(picker)
        assert labels[0] == "🎲 Any chapter"
        assert labels[1:21] == [f"VOLUME I, CHAPTER {roman}" for roman in ROMAN[:20]]
        assert labels[21:] == ["Chapters 21–40 ▶️"]
        assert all(len(str(b["callback_data"]).encode()) <= 64 for b in buttons_of(picker))

        picker_id = int(picker["message_id"])
        await user.tap_button(picker, "Chapters 21–40")
        second = await user.wait_edit(picker_id, lambda m: "◀️ Chapters 1–20" in button_labels(m))
        assert button_labels(second)[1:4] == [
            "VOLUME I, CHAPTER XXI",
            "VOLUME I, CHAPTER XXII",
            "VOLUME I, CHAPTER XXIII",
        ]
        assert button_labels(second)[4] == "VOLUME II, CHAPTER I"
        assert button_labels(second)[-2:] == ["◀️ Chapters 1–20", "Chapters 41–46 ▶️"]

        await user.tap_button(second, "Chapters 41–46")
        last = await user.wait_edit(picker_id, lambda m: "◀️ Chapters 21–40" in button_labels(m))
        assert button_labels(last)[1:] == [f"VOLUME II, CHAPTER {r}" for r in ROMAN[17:]] + [
            "◀️ Chapters 21–40"
        ]

        await user.tap_button(last, "VOLUME II, CHAPTER XX")
        question = await user.wait_reply(picker_id, contains="Fill in the gap")
        line, place = text_of(question).split("\n")
        assert place == "VOLUME II, CHAPTER XX"
        # The book's line break inside the sentence is gone, and the sentence is whole.
        assert "walked to the harbour" in line and "In chapter 20 of the second volume" in line
        assert re.search(r"gulls came back\.$", line)

        await ask(user, "no idea", contains="Not quite")
        answer = await ask(user, "How many boats did the keeper count in chapter 7?", contains="Sources")
        quote = next(line for line in text_of(answer).split("\n") if line.startswith("«"))
        assert "walked to the harbour and counted" in quote, text_of(answer)
        assert await failed_calls(user) == []
