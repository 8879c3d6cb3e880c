"""Spoiler-safe reading through the sandbox: the reader says how far they have read (a chapter or a
percentage) from the book card; answers, /search and the summary then keep to the part read and say so;
clearing the limit brings the whole book back."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from tests.e2e.client import SandboxHarness, UserClient, text_of
from tests.e2e.test_chat import BOOK_TIMEOUT, button_labels, is_progress

FIRST = (
    "Old Martha kept the lighthouse on the northern cliff for forty years. Every night she climbed the "
    "ninety steps and lit the great lamp, so that the fishing boats could find the harbour in the fog. "
)
SECOND = (
    "Years later her grandson Tobias dug under the old oak by the mill and found the captain's treasure: "
    "a chest of silver coins that the pirates had buried there. "
)
BOOK = (
    "The Keeper\n\n\nCHAPTER I. The Lamp\n\n"
    + FIRST * 6
    + "\n\n\nCHAPTER II. The Treasure\n\n"
    + SECOND * 6
    + "\n"
)


@pytest.fixture
def sandbox_app_factory(make_settings: Callable[..., Settings]) -> AppFactory:
    return librarity_app(make_settings())


async def test_answers_search_and_summary_keep_to_the_part_read(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    sent = await user.send_document(BOOK.encode(), filename="keeper.txt")
    first = await user.wait_reply(int(sent["message_id"]), timeout=30)
    await user.wait_edit(int(first["message_id"]), lambda m: not is_progress(m), timeout=BOOK_TIMEOUT)

    # Unlimited: the treasure is found.
    answer = await user.ask("Where was the treasure buried?", contains="oak", timeout=60)
    assert "Only the first" not in text_of(answer)

    # The book card from the shelf: "How far I've read", then the first chapter finished.
    shelf = await user.ask("/books", contains="Your shelf")
    await user.tap_button(shelf, "The Keeper")
    card = await user.wait_edit(
        int(shelf["message_id"]), lambda m: "How far I've read" in str(button_labels(m))
    )
    await user.tap_button(card, "How far I've read")
    prompt = await user.wait_reply(int(card["message_id"]), contains="How far have you read")
    labels = button_labels(prompt)
    assert any("The Lamp" in label for label in labels) and any("The Treasure" in label for label in labels)
    await user.tap_button(prompt, "The Lamp")
    saved = await user.wait_reply(int(prompt["message_id"]), contains="Saved")
    assert "first 4" in text_of(saved) or "first 5" in text_of(saved), text_of(saved)

    answer = await user.ask("Where was the treasure buried?", timeout=60)
    assert "oak" not in text_of(answer) and "silver" not in text_of(answer), text_of(answer)
    assert (
        "Only the first" in text_of(answer) or "Nothing" in text_of(answer) or "not find" in text_of(answer)
    )
    # What was read is still answered, and says it kept to the part read.
    lamp = await user.ask("Who kept the lighthouse?", contains="Martha", timeout=60)
    assert "Only the first" in text_of(lamp) and "oak" not in text_of(lamp)

    found = await user.ask("/search treasure oak silver coins", timeout=60)
    passages = text_of(found).split("\n", 1)[1]  # after the line that repeats the query
    assert "oak" not in passages and "silver coins" not in passages, passages
    assert "Only the first" in passages

    summary = await user.ask("/summary", timeout=60)
    summary = await user.wait_reply(int(summary["message_id"]) - 1, contains="Summary", timeout=60)
    assert "oak" not in text_of(summary) and "silver" not in text_of(summary), text_of(summary)
    assert "Only the first" in text_of(summary), text_of(summary)

    # A percentage typed instead, then cleared: the whole book again.
    await user.tap_button(card, "How far I've read")
    prompt = await user.wait_reply(int(summary["message_id"]), contains="How far have you read")
    saved = await user.ask("30%", contains="Saved")
    assert "first 30%" in text_of(saved)
    await user.tap_button(card, "How far I've read")
    prompt = await user.wait_reply(int(saved["message_id"]), contains="How far have you read")
    await user.tap_button(prompt, "I've read it all")
    await user.wait_reply(int(prompt["message_id"]), contains="no limit now")
    answer = await user.ask("Where was the treasure buried?", contains="oak", timeout=60)
    assert "Only the first" not in text_of(answer)


async def test_a_typed_question_instead_of_a_percentage_is_not_trapped(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    sent = await user.send_document(BOOK.encode(), filename="keeper.txt")
    first = await user.wait_reply(int(sent["message_id"]), timeout=30)
    await user.wait_edit(int(first["message_id"]), lambda m: not is_progress(m), timeout=BOOK_TIMEOUT)
    shelf = await user.ask("/books", contains="Your shelf")
    await user.tap_button(shelf, "The Keeper")
    card = await user.wait_edit(
        int(shelf["message_id"]), lambda m: "How far I've read" in str(button_labels(m))
    )
    await user.tap_button(card, "How far I've read")
    await user.wait_reply(int(card["message_id"]), contains="How far have you read")
    await user.ask("half of it", contains="isn't a percentage")
    # The next message is a question again, and nothing was limited.
    answer = await user.ask("Where was the treasure buried?", contains="oak", timeout=60)
    assert "Only the first" not in text_of(answer)
