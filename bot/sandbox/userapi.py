"""The user side of the sandbox: a small JSON API for what a person does in the chat and what they see.

Used by the web chat page, the e2e tests and scripts (see DESIGN.md, "Sandbox"):
  POST /api/users/{id}               profile (first_name, last_name, username, language_code)
  POST /api/users/{id}/messages      {"text", "language_code"?, "reply_to_message_id"?}
  POST /api/users/{id}/documents     multipart: file, caption?, language_code?
  POST /api/users/{id}/callbacks     {"message_id", "data"} -> the bot's answer (text, show_alert, url)
  POST /api/users/{id}/payments      {"message_id"} or {"link"} -> paid / declined / timeout
  POST /api/users/{id}/inline        {"query", "offset"?} -> the results the bot answered (inline mode)
  POST /api/users/{id}/inline/choose {"query_id", "result_id"} -> the message posted via the bot
  POST /api/users/{id}/block         {"blocked": true|false}
  GET  /api/users/{id}/messages      ?after=ID&all=1&changed_since=REV -> messages, draft, keyboard, ...
  GET  /api/users/{id}/commands      the command menu for the user's language
  GET  /api/files/{file_id}          a file's bytes
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.sandbox.botapi import WORLD_KEY
from bot.sandbox.formatting import detect_entities
from bot.sandbox.markup import callback_buttons
from bot.sandbox.media import guess_mime
from bot.sandbox.methods.bot_info import commands_for
from bot.sandbox.methods.common import TEXT_LIMIT
from bot.sandbox.methods.files import file_json
from bot.sandbox.models import ChatMessage, Invoice, Json, Payment, SandboxUser
from bot.sandbox.world import SandboxWorld

PROFILE_FIELDS = ("first_name", "last_name", "username", "language_code", "is_premium")
FILE_FIELDS = ("document", "audio", "video", "voice", "animation", "sticker")
INVOICE_LINK_PREFIX = "https://t.me/$"
INLINE_QUERY_LIMIT = 256
INLINE_ANSWERS_KEPT = 1000


class UserApiError(Exception):
    """A request the user side refuses: answered as `{"ok": false, "error"}` with an HTTP status."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@web.middleware
async def user_api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except UserApiError as e:
        return web.json_response({"ok": False, "error": e.error}, status=e.status)


def world_of(request: web.Request) -> SandboxWorld:
    return request.app[WORLD_KEY]


def user_id_of(request: web.Request) -> int:
    try:
        return int(request.match_info["user_id"])
    except ValueError as e:
        raise UserApiError(400, "user_id must be an integer") from e


async def json_body(request: web.Request) -> Json:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError as e:
        raise UserApiError(400, "the body must be JSON") from e
    if not isinstance(body, dict):
        raise UserApiError(400, "the body must be a JSON object")
    return body


def acting_user(world: SandboxWorld, user_id: int, fields: Json) -> SandboxUser:
    """The user, created on first contact; a user who writes again has unblocked the bot."""
    user = world.ensure_user(user_id, {k: fields[k] for k in PROFILE_FIELDS if k in fields})
    if user.blocked_bot:
        world.set_blocked(user, False)
    return user


def reply_part(world: SandboxWorld, user: SandboxUser, value: Any) -> Json:
    if value in (None, ""):
        return {}
    original = world.chats[user.id].get(int(value))
    if original is None:
        raise UserApiError(404, "message to reply to not found")
    return {"reply_to_message": {k: v for k, v in original.data.items() if k != "reply_to_message"}}


def with_download_urls(data: Json, base: str) -> Json:
    """A Message object for the user side: files carry a `download_url`."""
    message = dict(data)
    for key in FILE_FIELDS:
        if isinstance(message.get(key), dict):
            message[key] = {**message[key], "download_url": f"{base}/api/files/{message[key]['file_id']}"}
    if isinstance(message.get("photo"), list):
        message["photo"] = [
            {**size, "download_url": f"{base}/api/files/{size['file_id']}"} for size in message["photo"]
        ]
    return message


def base_url(request: web.Request) -> str:
    return str(request.url.origin())


async def set_profile(request: web.Request) -> web.Response:
    world = world_of(request)
    user = world.ensure_user(user_id_of(request), await json_body(request))
    return web.json_response({"ok": True, "user": user.to_user()})


async def send_text(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await json_body(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise UserApiError(400, "message text is empty")
    if len(text) > TEXT_LIMIT:
        raise UserApiError(400, "message is too long")
    user = acting_user(world, user_id_of(request), body)
    content: Json = {"text": text}
    if entities := detect_entities(text):
        content["entities"] = entities
    message = world.user_message(user, content | reply_part(world, user, body.get("reply_to_message_id")))
    return web.json_response({"ok": True, "message": message.data})


async def send_document(request: web.Request) -> web.Response:
    world = world_of(request)
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        raise UserApiError(400, "multipart field 'file' is required")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    user = acting_user(world, user_id_of(request), fields)
    data = upload.file.read()
    name = upload.filename or "file"
    # As Telegram's apps send it: a file ("document"), a voice recording ("voice") or music ("audio").
    sent_as = fields.get("as", "document")
    if sent_as not in ("document", "voice", "audio"):
        raise UserApiError(400, "'as' is one of document, voice, audio")
    stored = world.store_file(
        data, kind=f"{sent_as}s", file_name=name, mime_type=guess_mime(name, upload.content_type)
    )
    content: Json = {sent_as: file_json(stored, with_name=sent_as != "voice")}
    if sent_as != "document":
        content[sent_as]["duration"] = int(fields.get("duration", "1") or 1)
    caption = fields.get("caption", "")
    if caption:
        content["caption"] = caption
        if entities := detect_entities(caption):
            content["caption_entities"] = entities
    message = world.user_message(user, content | reply_part(world, user, fields.get("reply_to_message_id")))
    return web.json_response({"ok": True, "message": with_download_urls(message.data, base_url(request))})


def _message(world: SandboxWorld, user: SandboxUser, value: Any) -> ChatMessage:
    try:
        message = world.chats[user.id].get(int(value))
    except (TypeError, ValueError) as e:
        raise UserApiError(400, "message_id must be an integer") from e
    if message is None:
        raise UserApiError(404, "message not found")
    return message


async def tap_callback(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await json_body(request)
    user = acting_user(world, user_id_of(request), body)
    message = _message(world, user, body.get("message_id"))
    data = body.get("data")
    if not isinstance(data, str):
        raise UserApiError(400, "data must be a string")
    buttons = callback_buttons(message.data.get("reply_markup"))
    if not body.get("force") and data not in {b["callback_data"] for b in buttons}:
        raise UserApiError(400, "the message has no button with this data")
    query = world.new_query(world.callback_queries, user.id)
    world.updates.push(
        "callback_query",
        {
            "id": query.id,
            "from": user.to_user(),
            "message": message.data,
            "chat_instance": str(user.id * 7 + 1),
            "data": data,
        },
    )
    try:
        answer = await asyncio.wait_for(asyncio.shield(query.answer), world.config.callback_wait)
    except TimeoutError:
        return web.json_response({"ok": True, "answered": False, "query_id": query.id})
    return web.json_response({"ok": True, "answered": True, "query_id": query.id, **answer})


async def inline_query(request: web.Request) -> web.Response:
    """The user types `@bot words`: an inline_query update; the answer is what their app would show."""
    world = world_of(request)
    body = await json_body(request)
    text = body.get("query", "")
    if not isinstance(text, str) or len(text) > INLINE_QUERY_LIMIT:
        raise UserApiError(400, f"query is a string of at most {INLINE_QUERY_LIMIT} characters")
    offset = body.get("offset", "")
    if not isinstance(offset, str):
        raise UserApiError(400, "offset must be a string")
    user = world.ensure_user(user_id_of(request), {k: body[k] for k in PROFILE_FIELDS if k in body})
    query = world.new_query(world.inline_queries, user.id)
    world.updates.push(
        "inline_query",
        {"id": query.id, "from": user.to_user(), "query": text, "offset": offset, "chat_type": "sender"},
    )
    try:
        answer = await asyncio.wait_for(asyncio.shield(query.answer), world.config.callback_wait)
    except TimeoutError:
        return web.json_response({"ok": True, "answered": False, "query_id": query.id})
    world.inline_answers[query.id] = (user.id, text, answer)
    while len(world.inline_answers) > INLINE_ANSWERS_KEPT:
        del world.inline_answers[next(iter(world.inline_answers))]
    return web.json_response({"ok": True, "answered": True, "query_id": query.id, **answer})


async def choose_inline_result(request: web.Request) -> web.Response:
    """The user taps one of the results: its message is posted as theirs, "via @bot", and the bot hears
    of the choice (chosen_inline_result) when it asked for that update."""
    world = world_of(request)
    body = await json_body(request)
    user = acting_user(world, user_id_of(request), body)
    query_id = str(body.get("query_id"))
    answered = world.inline_answers.get(query_id)
    if answered is None or answered[0] != user.id:
        raise UserApiError(404, "no such inline query answered for this user")
    _, text, answer = answered
    result = next((r for r in answer["results"] if r["id"] == body.get("result_id")), None)
    if result is None:
        raise UserApiError(404, "the answer has no result with this id")
    message = world.chats[user.id].add(
        {
            "from": user.to_user(),
            "chat": user.to_chat(),
            "date": world.timestamp(),
            "via_bot": world.bot_user(),
            **result["message"],
        },
        outgoing=False,
    )
    world.updates.push("message", message.data)
    world.updates.push("chosen_inline_result", {"result_id": result["id"], "from": user.to_user(), "query": text})
    return web.json_response({"ok": True, "query_id": query_id, "message": message.data})


def _invoice_to_pay(world: SandboxWorld, user: SandboxUser, body: Json) -> Invoice:
    link = body.get("link")
    if isinstance(link, str) and link:
        invoice = world.invoice_links.get(link.removeprefix(INVOICE_LINK_PREFIX))
        if invoice is None:
            raise UserApiError(404, "invoice link not found")
        return invoice
    message = _message(world, user, body.get("message_id"))
    if message.invoice is None:
        raise UserApiError(400, "the message is not an invoice")
    return message.invoice


def successful_payment(payment: Payment, *, first: bool) -> Json:
    invoice = payment.invoice
    paid: Json = {
        "currency": invoice.currency,
        "total_amount": payment.total_amount,
        "invoice_payload": invoice.payload,
        "telegram_payment_charge_id": payment.charge_id,
        "provider_payment_charge_id": "" if invoice.currency == "XTR" else f"prov_{payment.charge_id}",
    }
    if payment.subscription_expiration_date is not None:
        paid |= {
            "subscription_expiration_date": payment.subscription_expiration_date,
            "is_recurring": True,
            "is_first_recurring": first,
        }
    return paid


def record_payment(
    world: SandboxWorld, user: SandboxUser, invoice: Invoice, *, renews: Payment | None = None
) -> tuple[Payment, ChatMessage]:
    """Charge the user and tell the bot with a successful_payment message."""
    charge_id = world.next_id("stx" if invoice.currency == "XTR" else "chg")
    expiration: int | None = None
    if invoice.subscription_period:
        start = (
            renews.subscription_expiration_date
            if renews and renews.subscription_expiration_date
            else world.timestamp()
        )
        expiration = start + invoice.subscription_period
    first_charge = (renews.renews or renews.charge_id) if renews else None
    payment = Payment(charge_id, user.id, invoice, world.timestamp(), expiration, renews=first_charge)
    world.payments[charge_id] = payment
    message = world.user_message(
        user, {"successful_payment": successful_payment(payment, first=renews is None)}
    )
    return payment, message


def payment_result(payment: Payment, message: ChatMessage) -> Json:
    return {
        "ok": True,
        "status": "paid",
        "telegram_payment_charge_id": payment.charge_id,
        "message_id": message.message_id,
        "successful_payment": message.data["successful_payment"],
    }


async def pay(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await json_body(request)
    user = acting_user(world, user_id_of(request), body)
    invoice = _invoice_to_pay(world, user, body)
    query = world.new_query(world.pre_checkout_queries, user.id)
    world.updates.push(
        "pre_checkout_query",
        {
            "id": query.id,
            "from": user.to_user(),
            "currency": invoice.currency,
            "total_amount": invoice.total_amount,
            "invoice_payload": invoice.payload,
        },
    )
    try:
        answer = await asyncio.wait_for(asyncio.shield(query.answer), world.config.pre_checkout_wait)
    except TimeoutError:
        return web.json_response({"ok": True, "status": "timeout"})
    if not answer["ok"]:
        return web.json_response({"ok": True, "status": "declined", "error_message": answer["error_message"]})
    return web.json_response(payment_result(*record_payment(world, user, invoice)))


async def block(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await json_body(request)
    user = world.ensure_user(user_id_of(request), body)
    world.set_blocked(user, bool(body.get("blocked", True)))
    return web.json_response({"ok": True, "blocked": user.blocked_bot})


def _int_query(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as e:
        raise UserApiError(400, f"{name} must be an integer") from e


async def get_messages(request: web.Request) -> web.Response:
    world = world_of(request)
    chat = world.chats.get(user_id_of(request))
    after = _int_query(request, "after") or 0
    changed_since = _int_query(request, "changed_since")
    everyone = request.query.get("all") in ("1", "true")
    base = base_url(request)
    if chat is None:
        return web.json_response(
            {"messages": [], "deleted": [], "draft": None, "keyboard": None, "action": None, "revision": 0}
        )
    messages: list[Json] = []
    deleted: list[int] = []
    for message in chat.messages.values():
        if message.message_id <= after or not (everyone or message.outgoing):
            continue
        if changed_since is not None and message.revision <= changed_since:
            continue
        if message.deleted:
            if changed_since is not None:
                deleted.append(message.message_id)
            continue
        messages.append(with_download_urls(message.data, base))
    draft = chat.current_draft()
    return web.json_response(
        {
            "messages": messages,
            "deleted": deleted,
            "draft": draft.to_json() if draft else None,
            "keyboard": chat.reply_keyboard(),
            "action": chat.current_action(),
            "revision": chat.revision,
            "user": chat.user.to_user() | {"blocked_bot": chat.user.blocked_bot},
        }
    )


async def get_commands(request: web.Request) -> web.Response:
    world = world_of(request)
    user_id = user_id_of(request)
    user = world.users.get(user_id)
    language = request.query.get("language_code") or (user.language_code if user else None)
    return web.json_response({"commands": commands_for(world, user_id, language)})


async def download(request: web.Request) -> web.Response:
    stored = world_of(request).files.get(request.match_info["file_id"])
    if stored is None:
        raise UserApiError(404, "file not found")
    headers = {}
    if stored.file_name:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stored.file_name, safe='')}"
    return web.Response(
        body=stored.data, content_type=stored.mime_type or "application/octet-stream", headers=headers
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/users/{user_id}", set_profile)
    app.router.add_post("/api/users/{user_id}/messages", send_text)
    app.router.add_get("/api/users/{user_id}/messages", get_messages)
    app.router.add_post("/api/users/{user_id}/documents", send_document)
    app.router.add_post("/api/users/{user_id}/callbacks", tap_callback)
    app.router.add_post("/api/users/{user_id}/payments", pay)
    app.router.add_post("/api/users/{user_id}/block", block)
    app.router.add_post("/api/users/{user_id}/inline", inline_query)
    app.router.add_post("/api/users/{user_id}/inline/choose", choose_inline_result)
    app.router.add_get("/api/users/{user_id}/commands", get_commands)
    app.router.add_get("/api/files/{file_id}", download)
