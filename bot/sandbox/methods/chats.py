"""Chats as the bot sees them: getChat, getChatMember, sendChatAction."""

from __future__ import annotations

import time

from bot.sandbox.errors import bad_request
from bot.sandbox.methods.common import target_chat
from bot.sandbox.methods.registry import method
from bot.sandbox.models import Json
from bot.sandbox.params import Params
from bot.sandbox.world import SandboxWorld

CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    }
)  # fmt: skip
CHAT_ACTION_SECONDS = 5.0


@method("getChat")
async def get_chat(world: SandboxWorld, params: Params) -> Json:
    chat = target_chat(world, params, sending=False)
    info: Json = chat.user.to_chat()
    info |= {
        "accent_color_id": chat.id % 7,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    }
    return info


@method("getChatMember")
async def get_chat_member(world: SandboxWorld, params: Params) -> Json:
    chat = target_chat(world, params, sending=False)
    user_id = params.require_int("user_id")
    if user_id == world.bot_id:
        return {"status": "member", "user": world.bot_user()}
    if user_id != chat.user.id:
        raise bad_request("PARTICIPANT_ID_INVALID")
    return {"status": "member", "user": chat.user.to_user()}


@method("sendChatAction")
async def send_chat_action(world: SandboxWorld, params: Params) -> bool:
    chat = target_chat(world, params)
    action = params.get_str("action") or ""
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.action = action
    chat.action_until = time.monotonic() + CHAT_ACTION_SECONDS
    return True
