"""The Bot API emulator driven by a real aiogram Bot: Telegram's replies, errors, files, drafts, payments."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessageDraft
from aiogram.types import (
    BotCommand,
    BotCommandScopeDefault,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LabeledPrice,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot.sandbox import SandboxConfig, SandboxEmulator
from tests.e2e.client import SandboxControl, UserClient

TOKEN = "42:sandbox-test"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
TIGHT = SandboxConfig(callback_wait=3.0, pre_checkout_wait=3.0)


def make_bot(base_url: str, *, is_local: bool = False) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url, is_local=is_local))
    return Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))


@pytest.fixture(scope="module")
async def shared_bot() -> AsyncIterator[Bot]:
    # One HTTP session for the module; each test points it at its own emulator.
    bot = make_bot("http://127.0.0.1:1")
    yield bot
    await bot.session.close()


@pytest.fixture
def config() -> SandboxConfig:
    return TIGHT


@pytest.fixture
async def emulator(config: SandboxConfig) -> AsyncIterator[SandboxEmulator]:
    async with SandboxEmulator(config) as emulator:
        yield emulator


@pytest.fixture
def bot(shared_bot: Bot, emulator: SandboxEmulator) -> Bot:
    shared_bot.session.api = TelegramAPIServer.from_base(emulator.base_url)
    return shared_bot


@pytest.fixture
async def user(emulator: SandboxEmulator) -> AsyncIterator[UserClient]:
    async with UserClient(emulator.base_url, 501, "en", first_name="Ann") as client:
        yield client


async def next_update(bot: Bot) -> Update:
    """The next update, confirmed, as a polling bot would get it."""
    updates = await bot.get_updates(timeout=5)
    assert updates, "no update arrived"
    await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    return updates[0]


async def started_chat(bot: Bot, user: UserClient) -> int:
    await user.send("/start")
    update = await next_update(bot)
    assert update.message is not None
    return update.message.chat.id


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


# --- identity, unknown methods, updates -----------------------------------------------------------


async def test_get_me_takes_the_id_from_any_well_formed_token(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (42, True, "librarity_sandbox_bot")


async def test_wrong_token_is_unauthorized(emulator: SandboxEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emulator.base_url}/botnot-a-token/getMe") as response:
            assert response.status == 401
            assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


@pytest.mark.parametrize("config", [SandboxConfig(token="1:right")])
async def test_only_the_configured_token_when_one_is_set(bot: Bot) -> None:
    with pytest.raises(TelegramUnauthorizedError):
        await bot.get_me()


async def test_unknown_method_is_404(emulator: SandboxEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emulator.base_url}/bot{TOKEN}/sendTelepathy", json={}) as response:
            assert response.status == 404
            assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_user_text_arrives_as_update_with_command_entity(bot: Bot, user: UserClient) -> None:
    sent = await user.send("/start ref_7")
    update = await next_update(bot)
    assert update.message is not None
    assert update.message.message_id == sent["message_id"]
    assert update.message.text == "/start ref_7"
    assert update.message.from_user is not None
    assert (update.message.from_user.first_name, update.message.from_user.language_code) == ("Ann", "en")
    assert update.message.entities is not None
    assert update.message.entities[0].type == "bot_command"
    assert await bot.get_updates(timeout=0) == []


async def test_long_poll_returns_when_a_message_arrives(bot: Bot, user: UserClient) -> None:
    polling = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.05)
    await user.send("hello")
    updates = await polling
    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_second_poller_ends_the_first_with_conflict(bot: Bot, emulator: SandboxEmulator) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first
    assert await second == []


async def test_allowed_updates_filters_update_types(bot: Bot, user: UserClient) -> None:
    await user.send("hi")
    await user.block()
    updates = await bot.get_updates(timeout=1, allowed_updates=["my_chat_member"])
    assert [u.my_chat_member is not None for u in updates] == [True]


# --- sending, formatting, limits --------------------------------------------------------------------


async def test_html_message_reaches_the_user_with_entities(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    sent = await bot.send_message(chat_id, "<b>Done</b> &lt;3 <a href='https://example.com'>site</a>")
    assert sent.text == "Done <3 site"
    [shown] = await user.messages()
    assert shown["message_id"] == sent.message_id
    assert shown["entities"] == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "text_link", "offset": 8, "length": 4, "url": "https://example.com"},
    ]


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("", "Bad Request: message text is empty"),
        ("  <b> </b> ", "Bad Request: message text is empty"),
        ("x" * 4097, "Bad Request: message is too long"),
        (
            "<b>unclosed",
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        ),
        ("a <br> b", 'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 2'),
    ],
)
async def test_send_message_errors(bot: Bot, user: UserClient, text: str, description: str) -> None:
    chat_id = await started_chat(bot, user)
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_message(chat_id, text)
    assert caught.value.message == description


async def test_limit_counts_text_after_entity_parsing(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    sent = await bot.send_message(chat_id, "<b>" + "x" * 4096 + "</b>")
    assert sent.text is not None and len(sent.text) == 4096


async def test_unknown_chat_and_blocked_user(bot: Bot, user: UserClient) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "hi")
    chat_id = await started_chat(bot, user)
    await user.block()
    update = await next_update(bot)
    assert update.my_chat_member is not None and update.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(TelegramForbiddenError) as caught:
        await bot.send_message(chat_id, "still there?")
    assert caught.value.message == "Forbidden: bot was blocked by the user"


async def test_callback_data_over_64_bytes_is_refused(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="é" * 33)]])
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_message(chat_id, "pick", reply_markup=markup)
    assert caught.value.message == "Bad Request: BUTTON_DATA_INVALID"


async def test_reply_keyboard_is_shown_but_not_in_the_message(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    keyboard = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Yes"), KeyboardButton(text="No")]])
    sent = await bot.send_message(chat_id, "Sure?", reply_markup=keyboard)
    assert sent.reply_markup is None
    view = await user.chat()
    assert [b["text"] for b in view["keyboard"]["keyboard"][0]] == ["Yes", "No"]
    await bot.send_message(chat_id, "ok", reply_markup=ReplyKeyboardRemove())
    assert (await user.chat())["keyboard"] is None


# --- edits and deletes ------------------------------------------------------------------------------


async def test_edits_apply_and_identical_edit_is_not_modified(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="More", callback_data="more")]])
    sent = await bot.send_message(chat_id, "Reading…", reply_markup=markup)
    await bot.edit_message_text(
        "<i>Read</i>", chat_id=chat_id, message_id=sent.message_id, reply_markup=markup
    )
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.edit_message_text(
            "<i>Read</i>", chat_id=chat_id, message_id=sent.message_id, reply_markup=markup
        )
    assert caught.value.message == NOT_MODIFIED
    shown = await user.message(sent.message_id)
    assert shown is not None
    assert (shown["text"], shown["entities"][0]["type"], shown["reply_markup"]) == (
        "Read",
        "italic",
        {"inline_keyboard": [[{"text": "More", "callback_data": "more"}]]},
    )
    assert "edit_date" in shown
    # Telegram drops the inline keyboard when an edit does not repeat it.
    await bot.edit_message_text("Read", chat_id=chat_id, message_id=sent.message_id)
    shown = await user.message(sent.message_id)
    assert shown is not None and "reply_markup" not in shown
    edits = await user.calls("editMessageText")
    assert [call["ok"] for call in edits] == [True, False, True]


async def test_edit_markup_caption_and_missing_messages(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    sent = await bot.send_message(chat_id, "text")
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=sent.message_id)
    assert caught.value.message == NOT_MODIFIED
    with pytest.raises(TelegramBadRequest, match="there is no caption in the message to edit"):
        await bot.edit_message_caption(chat_id=chat_id, message_id=sent.message_id, caption="c")
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.edit_message_text("x", chat_id=chat_id, message_id=9999)
    assert caught.value.message == "Bad Request: message to edit not found"
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=chat_id, message_id=1)  # the user's /start


async def test_delete_message_and_messages(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    first = await bot.send_message(chat_id, "one")
    second = await bot.send_message(chat_id, "two")
    assert await bot.delete_message(chat_id, first.message_id)
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.delete_message(chat_id, first.message_id)
    assert caught.value.message == "Bad Request: message to delete not found"
    assert await bot.delete_messages(chat_id, [second.message_id, 9999])
    assert await user.messages() == []


async def test_copy_and_forward(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    question = await user.send("What is chapter 2 about?")
    copied = await bot.copy_message(chat_id, chat_id, question["message_id"])
    forwarded = await bot.forward_message(chat_id, chat_id, question["message_id"])
    assert forwarded.forward_origin is not None and forwarded.text == "What is chapter 2 about?"
    shown = {m["message_id"]: m["text"] for m in await user.messages()}
    assert shown == {
        copied.message_id: "What is chapter 2 about?",
        forwarded.message_id: "What is chapter 2 about?",
    }
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(chat_id, chat_id, 9999)


# --- callbacks --------------------------------------------------------------------------------------


async def test_tap_returns_the_bot_answer_and_a_second_answer_is_too_old(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]])
    sent = await bot.send_message(chat_id, "Tap", reply_markup=markup)
    [shown] = await user.messages()
    tap = asyncio.create_task(user.tap_button(shown, "go"))
    update = await next_update(bot)
    query = update.callback_query
    assert query is not None and query.data == "go" and query.message is not None
    assert query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Going", show_alert=True)
    assert await tap == {
        "ok": True,
        "answered": True,
        "query_id": query.id,
        "text": "Going",
        "show_alert": True,
    }
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.answer_callback_query(query.id)
    assert caught.value.message == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )


async def test_tap_without_such_button_is_refused(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    sent = await bot.send_message(chat_id, "no buttons")
    with pytest.raises(AssertionError, match="no button with this data"):
        await user.tap(sent.message_id, "forged")


# --- pacing -----------------------------------------------------------------------------------------


async def test_injected_flood_error_carries_retry_after(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    await SandboxControl(user.base_url, user.session).flood(7, method="sendMessage", chat_id=chat_id)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(chat_id, "hi")
    assert caught.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in caught.value.message
    assert (await bot.send_message(chat_id, "hi")).text == "hi"


@pytest.mark.parametrize(
    "config", [SandboxConfig(rate_limit=True, per_chat_burst=2, per_chat_per_second=0.5)]
)
async def test_optional_rate_check_answers_429_past_the_burst(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    await bot.send_message(chat_id, "1")
    await bot.send_message(chat_id, "2")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(chat_id, "3")
    assert caught.value.retry_after >= 1


# --- files ------------------------------------------------------------------------------------------


async def test_document_round_trip(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    sent = await bot.send_document(
        chat_id, BufferedInputFile(b"chapter one", "notes.txt"), caption="<b>Notes</b>"
    )
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.mime_type, sent.document.file_size) == (
        "notes.txt",
        "text/plain",
        11,
    )
    assert sent.caption == "Notes"
    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"chapter one"
    [shown] = await user.messages()
    assert await user.download(shown) == b"chapter one"
    again = await bot.send_document(chat_id, sent.document.file_id)
    assert again.document is not None and again.document.file_id == sent.document.file_id


async def test_user_document_reaches_the_bot(bot: Bot, user: UserClient) -> None:
    await user.send_document(b"%PDF-1.4 tiny", "book.pdf", caption="my book")
    update = await next_update(bot)
    assert update.message is not None and update.message.document is not None
    assert (update.message.document.file_name, update.message.document.mime_type) == (
        "book.pdf",
        "application/pdf",
    )
    assert update.message.caption == "my book"
    downloaded = await bot.download(update.message.document.file_id)
    assert downloaded is not None and downloaded.read() == b"%PDF-1.4 tiny"


@pytest.mark.parametrize("config", [SandboxConfig(max_download_size=10)])
async def test_get_file_over_the_download_limit(bot: Bot, user: UserClient) -> None:
    await user.send_document(b"x" * 11, "big.txt")
    update = await next_update(bot)
    assert update.message is not None and update.message.document is not None
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.get_file(update.message.document.file_id)
    assert caught.value.message == "Bad Request: file is too big"


async def test_local_mode_lifts_the_limit_and_gives_absolute_paths(tmp_path: Path) -> None:
    config = SandboxConfig(local_mode=True, max_download_size=10, files_dir=str(tmp_path))
    async with SandboxEmulator(config) as emulator, UserClient(emulator.base_url, 7) as user:
        bot = make_bot(emulator.base_url, is_local=True)
        try:
            await user.send_document(b"x" * 11, "big.txt")
            [update] = await bot.get_updates(timeout=5)
            assert update.message is not None and update.message.document is not None
            file = await bot.get_file(update.message.document.file_id)
            assert file.file_path is not None and Path(file.file_path).is_absolute()
            downloaded = await bot.download_file(file.file_path)
            assert downloaded is not None and downloaded.read() == b"x" * 11
        finally:
            await bot.session.close()


async def test_photo_sizes_and_caption_limit(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    sent = await bot.send_photo(chat_id, BufferedInputFile(png(3, 2), "cover.png"))
    assert sent.photo is not None and (sent.photo[-1].width, sent.photo[-1].height) == (3, 2)
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_photo(chat_id, sent.photo[-1].file_id, caption="c" * 1025)
    assert caught.value.message == "Bad Request: message caption is too long"


# --- drafts, chat actions, commands -------------------------------------------------------------------


async def test_draft_is_shown_until_the_real_message(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    assert await bot.send_chat_action(chat_id, "typing")
    assert (await user.chat())["action"] == "typing"
    assert await bot(SendMessageDraft(chat_id=chat_id, draft_id=1, text="The <b>answer</b> is"))
    draft = await user.draft()
    assert draft is not None and (draft["text"], draft["entities"][0]["type"]) == ("The answer is", "bold")
    await bot.send_message(chat_id, "The answer is 42.")
    view = await user.chat()
    assert (view["draft"], view["action"]) == (None, None)
    drafts = await user.calls("sendMessageDraft")
    assert [c["params"]["text"] for c in drafts] == ["The <b>answer</b> is"]


async def test_commands_per_language(bot: Bot, user: UserClient) -> None:
    await bot.set_my_commands(
        [BotCommand(command="start", description="Start")], scope=BotCommandScopeDefault()
    )
    await bot.set_my_commands([BotCommand(command="start", description="Начать")], language_code="ru")
    ru = await bot.get_my_commands(language_code="ru")
    assert [c.description for c in ru] == ["Начать"]
    async with user.session.get(f"{user.base_url}/api/users/{user.user_id}/commands?language_code=ru") as r:
        assert (await r.json())["commands"] == [{"command": "start", "description": "Начать"}]
    assert await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])


async def test_menu_button_and_bot_texts(bot: Bot) -> None:
    assert await bot.set_my_description("Talk to your books", language_code="en")
    assert (await bot.get_my_description(language_code="en")).description == "Talk to your books"
    assert (await bot.get_my_name()).name == "Librarity"
    assert await bot.set_chat_menu_button()
    assert (await bot.get_chat_menu_button()).type == "commands"


async def test_get_chat_and_member(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    chat = await bot.get_chat(chat_id)
    assert (chat.type, chat.first_name) == ("private", "Ann")
    member = await bot.get_chat_member(chat_id, chat_id)
    assert member.status == "member"


# --- payments ---------------------------------------------------------------------------------------


async def _answer_pre_checkout(bot: Bot, ok: bool = True) -> Update:
    update = await next_update(bot)
    assert update.pre_checkout_query is not None
    await bot.answer_pre_checkout_query(
        update.pre_checkout_query.id, ok=ok, error_message=None if ok else "Sold out"
    )
    return update


async def test_stars_invoice_payment_and_refund(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    invoice = await bot.send_invoice(
        chat_id,
        "100 credits",
        "A pack",
        "pack:100",
        currency="XTR",
        prices=[LabeledPrice(label="Pack", amount=50)],
    )
    assert invoice.invoice is not None and invoice.invoice.total_amount == 50
    paying = asyncio.create_task(user.pay(invoice.message_id))
    checkout = await _answer_pre_checkout(bot)
    assert checkout.pre_checkout_query is not None
    assert (checkout.pre_checkout_query.invoice_payload, checkout.pre_checkout_query.total_amount) == (
        "pack:100",
        50,
    )
    result = await paying
    assert result["status"] == "paid"
    update = await next_update(bot)
    assert update.message is not None and update.message.successful_payment is not None
    payment = update.message.successful_payment
    assert payment.telegram_payment_charge_id == result["telegram_payment_charge_id"]
    assert (payment.currency, payment.total_amount, payment.is_recurring) == ("XTR", 50, None)

    assert await bot.refund_star_payment(chat_id, payment.telegram_payment_charge_id)
    refund = await next_update(bot)
    assert refund.message is not None and refund.message.refunded_payment is not None
    assert refund.message.refunded_payment.telegram_payment_charge_id == payment.telegram_payment_charge_id
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(chat_id, payment.telegram_payment_charge_id)

    # Telegram delivering the same payment again: the bot must not credit twice.
    await user.redeliver(last="successful_payment")
    again = await next_update(bot)
    assert again.message is not None and again.message.successful_payment == payment


async def test_declined_checkout_sends_no_payment(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    invoice = await bot.send_invoice(
        chat_id, "Pro", "A month", "plan:pro", currency="XTR", prices=[LabeledPrice(label="Pro", amount=250)]
    )
    paying = asyncio.create_task(user.pay(invoice.message_id))
    await _answer_pre_checkout(bot, ok=False)
    assert await paying == {"ok": True, "status": "declined", "error_message": "Sold out"}
    assert await bot.get_updates(timeout=0) == []


async def test_stars_rules_for_invoices(bot: Bot, user: UserClient) -> None:
    chat_id = await started_chat(bot, user)
    with pytest.raises(TelegramBadRequest, match="STARS_INVOICE_INVALID"):
        await bot.send_invoice(
            chat_id, "t", "d", "p", currency="XTR",
            prices=[LabeledPrice(label="a", amount=1), LabeledPrice(label="b", amount=1)],
        )  # fmt: skip
    with pytest.raises(TelegramBadRequest, match="SUBSCRIPTION_PERIOD_INVALID"):
        await bot.create_invoice_link(
            "t",
            "d",
            "p",
            currency="XTR",
            prices=[LabeledPrice(label="a", amount=1)],
            subscription_period=3600,
        )


async def test_subscription_link_renewal_and_cancel(bot: Bot, user: UserClient) -> None:
    await started_chat(bot, user)
    link = await bot.create_invoice_link(
        "Pro", "Monthly", "sub:pro", currency="XTR", prices=[LabeledPrice(label="Pro", amount=250)],
        subscription_period=2592000,
    )  # fmt: skip
    paying = asyncio.create_task(user.pay(link=link))
    await _answer_pre_checkout(bot)
    first = await paying
    update = await next_update(bot)
    assert update.message is not None and update.message.successful_payment is not None
    paid = update.message.successful_payment
    assert (paid.is_recurring, paid.is_first_recurring) == (True, True)
    assert paid.subscription_expiration_date is not None

    renewal = await user.renew_subscription()
    renewed = (await next_update(bot)).message
    assert renewed is not None and renewed.successful_payment is not None
    assert renewed.successful_payment.telegram_payment_charge_id == renewal["telegram_payment_charge_id"]
    assert (renewed.successful_payment.is_recurring, renewed.successful_payment.is_first_recurring) == (
        True,
        False,
    )
    assert renewed.successful_payment.subscription_expiration_date is not None
    assert renewed.successful_payment.subscription_expiration_date > paid.subscription_expiration_date

    assert await bot.edit_user_star_subscription(
        user.user_id, first["telegram_payment_charge_id"], is_canceled=True
    )
    with pytest.raises(AssertionError, match="canceled"):
        await user.renew_subscription()
    transactions = await bot.get_star_transactions()
    assert [t.amount for t in transactions.transactions] == [250, 250]


# --- webhook ----------------------------------------------------------------------------------------


async def test_webhook_receives_updates_and_blocks_get_updates(bot: Bot, user: UserClient) -> None:
    from aiohttp import web

    received: asyncio.Queue[tuple[str | None, dict[str, Any]]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.json_response({"method": "sendMessage", "chat_id": user.user_id, "text": "pong"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        await user.send("ping")
        secret, update = await asyncio.wait_for(received.get(), 5)
        assert (secret, update["message"]["text"]) == ("s3cret", "ping")
        reply = await user.wait_reply(0, contains="pong")
        assert reply["text"] == "pong"
        assert await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == []
    finally:
        await runner.cleanup()
