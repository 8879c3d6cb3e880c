"""Pieces every sending method shares: formatted text with Telegram's limits, replies, reply_markup."""

from __future__ import annotations

from typing import Any

from bot.sandbox.errors import (
    MESSAGE_CAPTION_TOO_LONG,
    MESSAGE_TEXT_EMPTY,
    MESSAGE_TOO_LONG,
    bad_request,
)
from bot.sandbox.formatting import EntityParseError, parse_html, sort_entities, strip_text
from bot.sandbox.markup import Markup, parse_markup
from bot.sandbox.models import Chat, ChatMessage, Json
from bot.sandbox.params import Params
from bot.sandbox.world import SandboxWorld

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

# Fields of a Message that are its content, kept by copyMessage / forwardMessage.
CONTENT_KEYS = (
    "text", "entities", "caption", "caption_entities", "document", "photo", "audio", "video", "voice",
    "animation", "sticker", "link_preview_options", "show_caption_above_media",
)  # fmt: skip


def target_chat(world: SandboxWorld, params: Params, *, sending: bool = True) -> Chat:
    chat_id = world.resolve_chat_id(params.get_str("chat_id"))
    return world.chat_to_send(chat_id) if sending else world.chat(chat_id)


def _explicit_entities(value: Any) -> list[Json]:
    if not isinstance(value, list):
        raise bad_request("can't parse entities JSON object")
    entities: list[Json] = []
    for entity in value:
        if not isinstance(entity, dict) or not {"type", "offset", "length"} <= entity.keys():
            raise bad_request('can\'t parse MessageEntity: field "type" must be of type String')
        entities.append(dict(entity))
    return sort_entities(entities)


def formatted_text(
    params: Params, text_key: str = "text", entities_key: str = "entities", *, caption: bool = False
) -> tuple[str, list[Json]]:
    """Text and entities after parse_mode, stripped, within limits; Telegram's errors otherwise."""
    raw = params.get_str(text_key) or ""
    parse_mode = (params.get_str("parse_mode") or "").lower()
    entities: list[Json] = []
    if params.has(entities_key):
        text = raw
        entities = _explicit_entities(params.get_json(entities_key))
    elif parse_mode == "html":
        try:
            text, entities = parse_html(raw)
        except EntityParseError as e:
            raise bad_request(f"can't parse entities: {e}") from e
    elif parse_mode in ("", "markdown", "markdownv2"):
        # Markdown is not emulated: the text stays as sent, which shows such use plainly.
        text = raw
    else:
        raise bad_request("unsupported parse_mode")
    text, entities = strip_text(text, entities)
    if caption:
        if len(text) > CAPTION_LIMIT:
            raise bad_request(MESSAGE_CAPTION_TOO_LONG)
    else:
        if not text:
            raise bad_request(MESSAGE_TEXT_EMPTY)
        if len(text) > TEXT_LIMIT:
            raise bad_request(MESSAGE_TOO_LONG)
    return text, entities


def text_content(
    text: str, entities: list[Json], text_key: str = "text", entities_key: str = "entities"
) -> Json:
    content: Json = {}
    if text:
        content[text_key] = text
    if entities:
        content[entities_key] = entities
    return content


def caption_content(params: Params) -> Json:
    caption, entities = formatted_text(params, "caption", "caption_entities", caption=True)
    return text_content(caption, entities, "caption", "caption_entities")


def reply_to(chat: Chat, params: Params) -> Json:
    """`reply_to_message` for reply_parameters (or the older reply_to_message_id)."""
    reply = params.get_json("reply_parameters")
    message_id: int | None = None
    allow_missing = params.get_bool("allow_sending_without_reply")
    if isinstance(reply, dict) and reply.get("message_id") is not None:
        message_id = int(reply["message_id"])
        allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
    elif params.has("reply_to_message_id"):
        message_id = params.get_int("reply_to_message_id")
    if message_id is None:
        return {}
    original = chat.get(message_id)
    if original is None:
        if allow_missing:
            return {}
        raise bad_request("message to be replied not found")
    replied = {key: value for key, value in original.data.items() if key != "reply_to_message"}
    return {"reply_to_message": replied}


def send(
    world: SandboxWorld, chat: Chat, content: Json, params: Params, markup: Markup | None = None
) -> Json:
    """Store a bot message with the options every send method takes; the Message JSON to return."""
    markup = markup if markup is not None else parse_markup(params)
    content = {**content, **reply_to(chat, params)}
    if markup.inline is not None:
        content["reply_markup"] = markup.inline
    if params.get_bool("protect_content"):
        content["has_protected_content"] = True
    message = world.bot_message(chat, content)
    message.reply_keyboard = markup.reply_keyboard
    return dict(message.data)


def edited(
    chat: Chat, message: ChatMessage, changes: Json, removed: tuple[str, ...] = (), *, date: int
) -> Json:
    """Apply an edit: new content, edit_date (`date`), a new revision for the user side to notice."""
    for key in removed:
        message.data.pop(key, None)
    message.data.update(changes)
    message.data["edit_date"] = date
    message.revision = chat.bump()
    return dict(message.data)
