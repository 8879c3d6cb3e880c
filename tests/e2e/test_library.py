"""Books in through the sandbox: upload with live progress, the book card, /books, rename, delete,
refusals said before downloading, password-protected PDFs (another user's identical file needs its own
password and keeps its own name), and a bot that keeps answering while it reads."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.sandbox.runner import AppFactory, librarity_app
from db.models import Book
from services.ingestion.service import IngestionService
from tests.conftest import shared_data
from tests.e2e.client import Message, SandboxHarness, UserClient, buttons_of, find_button, text_of
from tests.extract_factories import make_pdf

BOOK_TIMEOUT = 180.0


@pytest.fixture
def sandbox_app_factory(make_settings: Any) -> AppFactory:
    return librarity_app(make_settings(ingestion_max_attempts=2, billing_free_max_books=50))


def is_progress(message: Message) -> bool:
    text = text_of(message)
    return "▰" in text or "▱" in text


async def upload(user: UserClient, file: Path | bytes, name: str | None = None) -> tuple[int, Message]:
    """Send a document; return the bot's progress message id and that message once it is final."""
    sent = await user.send_document(file, filename=name)
    first = await user.wait_reply(int(sent["message_id"]), timeout=30)
    final = await user.wait_edit(int(first["message_id"]), lambda m: not is_progress(m), timeout=BOOK_TIMEOUT)
    return int(first["message_id"]), final


async def edits_of(user: UserClient, message_id: int) -> list[dict[str, Any]]:
    calls = await user.calls("editMessageText")
    return [call for call in calls if int(call["params"].get("message_id", 0)) == message_id]


def small_book(n: int) -> bytes:
    paragraphs = [
        f"Chapter {n}. The lighthouse keeper number {n} counted the ships that passed in the night.",
        f"Every evening keeper {n} lit the great lamp and wrote the weather in a blue notebook.",
        "Storms came from the west, and the old stones of the tower hummed with the wind.",
    ]
    return "\n\n".join(paragraphs).encode()


async def test_upload_shows_progress_then_the_book_card(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    book = shared_data("books", "gutenberg", "blake-poems.txt")
    progress_id, card = await upload(user, book)
    text = text_of(card)
    assert "Poems" in text or "Blake" in text, text
    assert "passages indexed" in text
    labels = [button["text"] for button in buttons_of(card)]
    assert any("Ask" in label for label in labels) and any("Summary" in label for label in labels)
    assert any("Delete" in label for label in labels)
    assert find_button(card, "Ask")["callback_data"].startswith("book:ask:")

    edits = await edits_of(user, progress_id)
    assert edits, "the progress message is edited in place"
    assert all(call["ok"] for call in edits), [call.get("error") for call in edits]
    texts = [call["params"]["text"] for call in edits]
    assert all(a != b for a, b in itertools.pairwise(texts)), "never the same text twice"
    sends = await user.calls("sendMessage")
    assert len([c for c in sends if c["chat_id"] == user.user_id]) == 1, "one progress message, not many"


async def test_epub_upload_reads_chapters(sandbox_bot: SandboxHarness, user: UserClient) -> None:
    _, card = await upload(user, shared_data("files", "epub-epubjs", "alice.epub"))
    text = text_of(card)
    assert "Alice" in text and "chapters" in text, text


async def test_shelf_pages_rename_and_delete(sandbox_bot: SandboxHarness, user: UserClient) -> None:
    for n in range(9):
        _, card = await upload(user, small_book(n), f"keeper-{n}.txt")
        assert "indexed" in text_of(card), text_of(card)

    shelf = await user.ask("/books", contains="Your shelf")
    assert "9 books" in text_of(shelf) and "Page 1 of 2" in text_of(shelf)
    book_buttons = [b for b in buttons_of(shelf) if str(b.get("callback_data", "")).startswith("book:open:")]
    assert len(book_buttons) == 8
    await user.tap_button(shelf, "▶️")
    page2 = await user.wait_edit(int(shelf["message_id"]), lambda m: "Page 2 of 2" in text_of(m))
    assert len([b for b in buttons_of(page2) if "book:open:" in str(b.get("callback_data"))]) == 1
    await user.tap_button(page2, "◀️")
    await user.wait_edit(int(shelf["message_id"]), lambda m: "Page 1 of 2" in text_of(m))

    shelf = (await user.messages(int(shelf["message_id"]) - 1))[0]
    await user.tap_button(shelf, "keeper-3")
    card = await user.wait_edit(int(shelf["message_id"]), lambda m: "Rename" in str(buttons_of(m)))
    await user.tap_button(card, "Rename")
    prompt = await user.wait_reply(int(card["message_id"]), contains="new title")
    renamed = await user.ask("The Keeper's Log", contains="Renamed")
    assert "The Keeper&#x27;s Log" in text_of(renamed) or "The Keeper's Log" in text_of(renamed)
    assert int(prompt["message_id"]) < int(renamed["message_id"])

    await user.tap_button(renamed, "Delete")
    confirm = await user.wait_edit(int(renamed["message_id"]), lambda m: "Yes, delete" in str(buttons_of(m)))
    await user.tap_button(confirm, "Yes, delete")
    await user.wait_edit(int(renamed["message_id"]), lambda m: "is deleted" in text_of(m))
    shelf = await user.ask("/books", contains="Your shelf")
    assert "8 books" in text_of(shelf) and "Keeper's Log" not in str(buttons_of(shelf))


async def test_files_that_are_not_books_get_clear_answers(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    _, final = await upload(user, b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "cover.pdf")
    assert "can't read this kind of file" in text_of(final)
    _, final = await upload(user, b"", "empty.txt")
    assert "empty" in text_of(final)


async def test_file_over_20_mb_is_refused_before_downloading(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    sent = await user.send_document(b"x" * (20 * 1024 * 1024 + 1), filename="huge.txt")
    reply = await user.wait_reply(int(sent["message_id"]))
    assert "20 MB" in text_of(reply)
    assert await user.control.calls("getFile") == [], "no download was even tried"


async def test_password_protected_pdf(sandbox_bot: SandboxHarness, user: UserClient) -> None:
    pdf = shared_data("files", "pdf-pypdf-resources", "encryption", "r2-user-password.pdf")
    _, prompt = await upload(user, pdf, "secret.pdf")
    assert "protected with a password" in text_of(prompt)

    sent = await user.send("not-the-password")
    checking = await user.wait_reply(int(sent["message_id"]))
    wrong = await user.wait_edit(
        int(checking["message_id"]), lambda m: "doesn't open" in text_of(m), timeout=60
    )
    assert "secret.pdf" in text_of(wrong)
    assert await user.message(int(sent["message_id"])) is None, "the password is removed from the chat"

    sent = await user.send("asdfzxcv")
    checking = await user.wait_reply(int(sent["message_id"]))
    card = await user.wait_edit(
        int(checking["message_id"]), lambda m: "indexed" in text_of(m), timeout=BOOK_TIMEOUT
    )
    assert find_button(card, "Ask")

    # The password state is over: text is no longer taken for a password.
    sent = await user.send("/cancel")
    reply = await user.wait_reply(int(sent["message_id"]))
    assert "protected" not in text_of(reply)


LIGHTHOUSE_PAGES = [
    "The lighthouse keeper counted the ships that passed in the night.\nHe wrote the weather in a notebook.",
    "Storms came from the west, and the old stones of the tower hummed with the wind.",
]


async def _copied_from(sandbox: SandboxHarness, user_id: int) -> int | None:
    """The book this user's only book was copied from (None when it was read from scratch)."""
    async with sandbox.running.dispatcher["ctx"].session_factory() as session:
        book = await session.scalar(select(Book).where(Book.user_id == user_id))
        assert book is not None
        return book.source_book_id


async def _password_reply(user: UserClient, password: str, expect: str) -> Message:
    sent = await user.send(password)
    checking = await user.wait_reply(int(sent["message_id"]))
    return await user.wait_edit(
        int(checking["message_id"]), lambda m: expect in text_of(m), timeout=BOOK_TIMEOUT
    )


async def test_an_identical_protected_pdf_from_another_user_needs_their_own_password(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    pdf = make_pdf(LIGHTHOUSE_PAGES, user_password="lantern")
    _, prompt = await upload(user, pdf, "Alice_private_notes.pdf")
    assert "protected with a password" in text_of(prompt)
    card = await _password_reply(user, "lantern", "indexed")
    assert "Alice private notes" in text_of(card)

    # The same file from someone else: the work is reused, the access and the name are not.
    bob = sandbox_bot.user(first_name="Bob")
    _, prompt = await upload(bob, pdf, "lighthouse.pdf")
    assert "protected with a password" in text_of(prompt), text_of(prompt)
    assert "Alice" not in text_of(prompt)
    wrong = await _password_reply(bob, "guess", "doesn't open")
    assert "lighthouse.pdf" in text_of(wrong) and "Alice" not in text_of(wrong)
    card = await _password_reply(bob, "lantern", "indexed")
    assert "lighthouse" in text_of(card) and "Alice" not in text_of(card)
    assert find_button(card, "Ask")
    assert await _copied_from(sandbox_bot, bob.user_id) is not None, "copied, not read again"


async def test_an_identical_file_from_another_user_keeps_their_own_name(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    pdf = make_pdf(LIGHTHOUSE_PAGES)
    _, card = await upload(user, pdf, "Alice_draft_for_the_editor.pdf")
    assert "Alice draft for the editor" in text_of(card)
    bob = sandbox_bot.user(first_name="Bob")
    _, card = await upload(bob, pdf, "Keepers_log.pdf")
    assert "Keepers log" in text_of(card) and "Alice" not in text_of(card)
    assert await _copied_from(sandbox_bot, bob.user_id) is not None, "copied, not read again"
    shelf = " ".join(b["text"] for b in buttons_of(await bob.ask("/books", contains="Your shelf")))
    assert "Keepers log" in shelf and "Alice" not in shelf, shelf


async def test_bot_answers_while_a_big_book_is_indexed(sandbox_bot: SandboxHarness, user: UserClient) -> None:
    """A book is ready to ask once its words are indexed; its dense vectors, most of the work, follow in
    the background, and the bot keeps answering everyone (the same user about that very book) meanwhile."""
    ingestion: IngestionService = sandbox_bot.running.dispatcher["ingestion"]
    other = sandbox_bot.user()
    book = shared_data("books", "gutenberg", "chesterton-thursday.txt")
    sent = await user.send_document(book)
    progress = await user.wait_reply(int(sent["message_id"]), timeout=30)
    card = await user.wait_edit(
        int(progress["message_id"]), lambda m: not is_progress(m), timeout=BOOK_TIMEOUT
    )
    assert "Thursday" in text_of(card)
    assert "Search by meaning is still being prepared" in text_of(card)
    (shelf, _) = await ingestion.shelf(user.user_id)
    book_id = shelf[0].id
    before = await ingestion.get(user.user_id, book_id)
    assert before is not None and before.dense_pending, "the card came before the dense vectors"

    mine, theirs = await asyncio.gather(user.ask("/help"), other.ask("/help"))
    assert "What I can do" in text_of(mine) and "What I can do" in text_of(theirs)
    answer = await user.ask("Who is the man called Sunday?", contains="Sources", timeout=60)
    assert "Sunday" in text_of(answer)
    still = await ingestion.get(user.user_id, book_id)
    assert still is not None and still.dense_pending, (
        "the answers came while the book was still being indexed"
    )
    done = await ingestion.wait_dense(book_id, max_seconds=600)
    assert done is not None and not done.dense_pending
    # The card itself is brought up to date: search by meaning is no longer "being prepared".
    updated = await user.wait_edit(
        int(card["message_id"]), lambda m: "still being prepared" not in text_of(m), timeout=30
    )
    assert "Thursday" in text_of(updated) and find_button(updated, "Ask")


async def test_over_the_plan_limit_is_refused_before_download(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    """Within MAX_FILE_MB and what Telegram lets a bot download, but over the Free plan's 10 MB: the plan's message with the buy buttons, and
    the file is never fetched."""
    sent = await user.send_document(b"x" * (11 * 1024 * 1024), filename="big.txt")
    reply = await user.wait_reply(int(sent["message_id"]))
    assert "books can be up to 10 MB" in text_of(reply), text_of(reply)
    assert buttons_of(reply), "the buy buttons come with it"
    assert await user.control.calls("getFile") == []
