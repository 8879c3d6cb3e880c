"""The web chat page in a real browser (Debian's headless Chromium driven by Playwright).

The first test talks to the real bot (/start, then a tap on an inline button); the second uses a tiny
Dispatcher to exercise what the welcome flow does not show: uploads, files, reply keyboards, drafts,
invoices with a Pay button.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.filters import CommandStart
from aiogram.methods import SendMessageDraft
from aiogram.types import (
    BufferedInputFile,
    KeyboardButton,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
    ReplyKeyboardMarkup,
)

from bot.sandbox.runner import AppFactory, SandboxApp
from tests.e2e.client import Message as ChatMessage
from tests.e2e.client import SandboxHarness, text_of

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 10_000

if not shutil.which(CHROMIUM):
    pytest.skip(f"Chromium is not installed at {CHROMIUM}", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield context.pages[0] if context.pages else await context.new_page()
        finally:
            await context.close()


async def open_chat(page: Any, base_url: str, user_id: int) -> None:
    await page.goto(f"{base_url}/?user={user_id}&lang=en&name=Ann")
    await page.wait_for_selector("#status:has-text('chat with user')", timeout=WAIT_MS)


async def send_from_page(page: Any, text: str) -> None:
    await page.fill("#text", text)
    await page.click("#sendBtn")


async def test_start_and_tap_a_button_with_the_real_bot(page: Any, sandbox_bot: SandboxHarness) -> None:
    user = sandbox_bot.user()
    await open_chat(page, sandbox_bot.base_url, user.user_id)
    await send_from_page(page, "/start")

    welcome = await user.wait_for(lambda messages: next((m for m in messages if m.get("reply_markup")), None))
    bubble = page.locator(f".msg[data-id='{welcome['message_id']}']")
    await bubble.wait_for(timeout=WAIT_MS)
    first_line = text_of(welcome).splitlines()[0]
    assert first_line in await bubble.inner_text()
    if welcome.get("entities"):
        assert await bubble.locator("b").count() >= 1  # bold entities render as <b>, not as raw tags
    assert "<b>" not in await bubble.inner_text()

    callbacks = [b for row in welcome["reply_markup"]["inline_keyboard"] for b in row if "callback_data" in b]
    await bubble.locator(".kb-row button", has_text=callbacks[-1]["text"]).click()

    async def replied_to_tap(messages: list[ChatMessage]) -> ChatMessage | None:
        # The bot may send more after /start; what counts is a message sent after it answered the tap.
        answers = await user.calls("answerCallbackQuery")
        if not answers:
            return None
        sends = await user.calls("sendMessage", since=int(answers[0]["seq"]))
        return messages[-1] if sends and messages else None

    reply = await user.wait_for(replied_to_tap, after=int(welcome["message_id"]))
    await page.locator(f".msg[data-id='{reply['message_id']}']").wait_for(timeout=WAIT_MS)
    assert text_of(reply).splitlines()[0] in await page.locator("#chat").inner_text()


def file_and_invoice_bot() -> AppFactory:
    """A tiny bot: a reply keyboard on /start, files echoed back, a streamed reply, a Stars invoice."""
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Stream"), KeyboardButton(text="Buy")]])
        await message.answer("Pick one", reply_markup=keyboard)

    @dp.message(F.text == "Stream")
    async def stream(message: Message, bot: Bot) -> None:
        await bot(SendMessageDraft(chat_id=message.chat.id, draft_id=1, text="Thinking about it"))
        await message.answer("<i>Done</i> streaming")

    @dp.message(F.text == "Buy")
    async def buy(message: Message) -> None:
        await message.answer_invoice(
            "Pack", "100 credits", "pack:100", currency="XTR", prices=[LabeledPrice(label="Pack", amount=50)]
        )

    @dp.pre_checkout_query()
    async def checkout(query: PreCheckoutQuery) -> None:
        await query.answer(ok=True)

    @dp.message(F.successful_payment)
    async def paid(message: Message) -> None:
        await message.answer("Thanks for the purchase")

    @dp.message(F.document)
    async def document(message: Message, bot: Bot) -> None:
        assert message.document is not None
        data = await bot.download(message.document.file_id)
        assert data is not None
        await message.answer_document(BufferedInputFile(data.read().upper(), "echo.txt"), caption="Echo")

    async def build() -> SandboxApp:
        return SandboxApp(dispatcher=dp, bot_defaults=DefaultBotProperties(parse_mode="HTML"))

    return build


class TestPageFeatures:
    @pytest.fixture
    def sandbox_app_factory(self) -> AppFactory:
        return file_and_invoice_bot()

    async def test_keyboard_draft_file_and_invoice(
        self, page: Any, sandbox_bot: SandboxHarness, tmp_path: Path
    ) -> None:
        user = sandbox_bot.user()
        await open_chat(page, sandbox_bot.base_url, user.user_id)
        await send_from_page(page, "/start")
        await page.locator("#replykb button", has_text="Stream").click(timeout=WAIT_MS)
        done = await user.wait_reply(0, contains="Done streaming")
        await page.locator(f".msg[data-id='{done['message_id']}'] i", has_text="Done").wait_for(
            timeout=WAIT_MS
        )
        assert [c["params"]["text"] for c in await user.calls("sendMessageDraft")] == ["Thinking about it"]

        book = tmp_path / "note.txt"
        book.write_text("quiet", encoding="utf-8")
        await page.set_input_files("#fileInput", str(book))
        echo = await user.wait_reply(0, contains="Echo")
        link = page.locator(f".msg[data-id='{echo['message_id']}'] a", has_text="echo.txt")
        await link.wait_for(timeout=WAIT_MS)
        assert await user.download(echo) == b"QUIET"

        await page.locator("#replykb button", has_text="Buy").click()
        invoice = await user.wait_for(lambda ms: next((m for m in ms if "invoice" in m), None))
        await page.locator(f".msg[data-id='{invoice['message_id']}'] button", has_text="Pay").click(
            timeout=WAIT_MS
        )
        thanks = await user.wait_reply(int(invoice["message_id"]), contains="Thanks")
        await page.locator(f".msg[data-id='{thanks['message_id']}']").wait_for(timeout=WAIT_MS)
        [payment] = await sandbox_bot.control.payments(user.user_id)
        assert (payment["currency"], payment["total_amount"]) == ("XTR", 50)
