"""Sending, editing, deleting, copying messages; streaming drafts; answering callback queries."""

from __future__ import annotations

import time

from bot.sandbox.errors import (
    MESSAGE_CANT_BE_EDITED,
    MESSAGE_TO_DELETE_NOT_FOUND,
    MESSAGE_TO_EDIT_NOT_FOUND,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    bad_request,
)
from bot.sandbox.markup import parse_markup
from bot.sandbox.methods.common import (
    CONTENT_KEYS,
    caption_content,
    edited,
    formatted_text,
    send,
    target_chat,
    text_content,
)
from bot.sandbox.methods.registry import method
from bot.sandbox.models import Chat, ChatMessage, Draft, Json
from bot.sandbox.params import Params
from bot.sandbox.world import SandboxWorld

DRAFT_LIFETIME = 30.0
CALLBACK_ANSWER_LIMIT = 200


@method("sendMessage", paced=True)
async def send_message(world: SandboxWorld, params: Params) -> Json:
    chat = target_chat(world, params)
    content = text_content(*formatted_text(params))
    preview = params.get_json("link_preview_options")
    if isinstance(preview, dict) and preview:
        content["link_preview_options"] = preview
    return send(world, chat, content, params)


def _message_to_edit(world: SandboxWorld, params: Params) -> tuple[Chat, ChatMessage]:
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = target_chat(world, params)
    message_id = params.get_int("message_id")
    message = chat.get(message_id) if message_id is not None else None
    if message is None:
        raise bad_request(MESSAGE_TO_EDIT_NOT_FOUND)
    if not message.outgoing:
        raise bad_request(MESSAGE_CANT_BE_EDITED)
    return chat, message


def _apply_edit(
    world: SandboxWorld, chat: Chat, message: ChatMessage, changes: Json, removed: tuple[str, ...]
) -> Json:
    before = message.content_key()
    after = ChatMessage(
        data={**{k: v for k, v in message.data.items() if k not in removed}, **changes},
        outgoing=True,
        revision=0,
    ).content_key()
    if before == after:
        raise bad_request(NOT_MODIFIED)
    return edited(chat, message, changes, removed, date=world.timestamp())


def _inline_markup(params: Params) -> Json:
    markup = parse_markup(params, inline_only=True)
    # An edit without reply_markup takes the inline keyboard away, as on Telegram.
    return {"reply_markup": markup.inline} if markup.inline is not None else {}


@method("editMessageText", paced=True)
async def edit_message_text(world: SandboxWorld, params: Params) -> Json:
    chat, message = _message_to_edit(world, params)
    if "text" not in message.data:
        raise bad_request("there is no text in the message to edit")
    changes = text_content(*formatted_text(params)) | _inline_markup(params)
    return _apply_edit(world, chat, message, changes, ("entities", "reply_markup"))


@method("editMessageCaption", paced=True)
async def edit_message_caption(world: SandboxWorld, params: Params) -> Json:
    chat, message = _message_to_edit(world, params)
    if "text" in message.data:
        raise bad_request("there is no caption in the message to edit")
    changes = caption_content(params) | _inline_markup(params)
    return _apply_edit(world, chat, message, changes, ("caption", "caption_entities", "reply_markup"))


@method("editMessageReplyMarkup", paced=True)
async def edit_message_reply_markup(world: SandboxWorld, params: Params) -> Json:
    chat, message = _message_to_edit(world, params)
    return _apply_edit(world, chat, message, _inline_markup(params), ("reply_markup",))


def _delete(chat: Chat, message: ChatMessage) -> None:
    message.deleted = True
    message.revision = chat.bump()


@method("deleteMessage")
async def delete_message(world: SandboxWorld, params: Params) -> bool:
    chat = target_chat(world, params, sending=False)
    message = chat.get(params.require_int("message_id"))
    if message is None:
        raise bad_request(MESSAGE_TO_DELETE_NOT_FOUND)
    _delete(chat, message)
    return True


@method("deleteMessages")
async def delete_messages(world: SandboxWorld, params: Params) -> bool:
    chat = target_chat(world, params, sending=False)
    ids = params.get_json("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must be a list of 1-100 message identifiers")
    # Telegram skips the ones it cannot find.
    for message_id in ids:
        if (message := chat.get(int(message_id))) is not None:
            _delete(chat, message)
    return True


@method("sendMessageDraft")
async def send_message_draft(world: SandboxWorld, params: Params) -> bool:
    chat = target_chat(world, params)
    draft_id = params.require_int("draft_id")
    if draft_id == 0:
        raise bad_request("DRAFT_ID_INVALID")
    text, entities = formatted_text(params) if (params.get_str("text") or "").strip() else ("", [])
    chat.draft = Draft(draft_id, text, entities, world.timestamp(), time.monotonic() + DRAFT_LIFETIME)
    return True


def _source_message(world: SandboxWorld, params: Params, action: str) -> ChatMessage:
    source = world.chat(world.resolve_chat_id(params.get_str("from_chat_id")))
    message = source.get(params.require_int("message_id"))
    if message is None:
        raise bad_request(f"message to {action} not found")
    return message


def _content_of(message: ChatMessage) -> Json:
    content = {key: message.data[key] for key in CONTENT_KEYS if key in message.data}
    if not content:
        raise bad_request("message can't be copied")
    return content


@method("copyMessage", paced=True)
async def copy_message(world: SandboxWorld, params: Params) -> Json:
    chat = target_chat(world, params)
    content = _content_of(_source_message(world, params, "copy"))
    if params.has("caption") and "text" not in content:
        content = {k: v for k, v in content.items() if k not in ("caption", "caption_entities")}
        content |= caption_content(params)
    sent = send(world, chat, content, params)
    return {"message_id": sent["message_id"]}


@method("forwardMessage", paced=True)
async def forward_message(world: SandboxWorld, params: Params) -> Json:
    chat = target_chat(world, params)
    source = _source_message(world, params, "forward")
    origin = {"type": "user", "sender_user": source.data["from"], "date": source.data["date"]}
    content = _content_of(source) | {"forward_origin": origin}
    message = world.bot_message(chat, content)
    return dict(message.data)


@method("answerCallbackQuery")
async def answer_callback_query(world: SandboxWorld, params: Params) -> bool:
    query = world.callback_queries.get(params.require_str("callback_query_id"))
    expired = query is not None and time.monotonic() - query.created > world.config.callback_query_lifetime
    if query is None or query.answer.done() or expired:
        raise bad_request(QUERY_TOO_OLD)
    text = params.get_str("text") or ""
    if len(text) > CALLBACK_ANSWER_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    answer: Json = {"text": text, "show_alert": params.get_bool("show_alert")}
    if params.has("url"):
        answer["url"] = params.get_str("url")
    query.answer.set_result(answer)
    return True
