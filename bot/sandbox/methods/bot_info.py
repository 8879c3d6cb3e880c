"""The bot's own profile: getMe, commands per scope and language, menu button, name and descriptions."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.sandbox.errors import bad_request
from bot.sandbox.methods.registry import method
from bot.sandbox.models import Json
from bot.sandbox.params import Params
from bot.sandbox.world import SandboxWorld

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_TEXT_LIMITS = {"name": 64, "description": 512, "short_description": 120}


def _scope_key(params: Params) -> str:
    scope = params.get_json("scope") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    return json.dumps(scope, sort_keys=True)


def _language(params: Params) -> str:
    language = params.get_str("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("LANG_CODE_INVALID")
    return language


def _commands(value: Any) -> list[Json]:
    if not isinstance(value, list) or len(value) > 100:
        raise bad_request("can't parse commands JSON object")
    commands: list[Json] = []
    for command in value:
        if not isinstance(command, dict) or not _COMMAND_RE.match(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        commands.append({"command": command["command"], "description": command["description"]})
    return commands


@method("getMe")
async def get_me(world: SandboxWorld, params: Params) -> Json:
    return world.bot_user() | {
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": True,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("logOut")
async def log_out(world: SandboxWorld, params: Params) -> bool:
    return True


@method("close")
async def close(world: SandboxWorld, params: Params) -> bool:
    return True


@method("setMyCommands")
async def set_my_commands(world: SandboxWorld, params: Params) -> bool:
    commands = _commands(params.get_json("commands"))
    key = (_scope_key(params), _language(params))
    if commands:
        world.commands[key] = commands
    else:
        world.commands.pop(key, None)
    return True


@method("getMyCommands")
async def get_my_commands(world: SandboxWorld, params: Params) -> list[Json]:
    return world.commands.get((_scope_key(params), _language(params)), [])


@method("deleteMyCommands")
async def delete_my_commands(world: SandboxWorld, params: Params) -> bool:
    world.commands.pop((_scope_key(params), _language(params)), None)
    return True


def commands_for(world: SandboxWorld, chat_id: int, language: str | None) -> list[Json]:
    """The command menu a user sees: the narrowest scope, then their language, as Telegram resolves it."""
    scopes = [
        {"type": "chat", "chat_id": chat_id},
        {"type": "all_private_chats"},
        {"type": "default"},
    ]
    for scope in scopes:
        key = json.dumps(scope, sort_keys=True)
        for lang in ([language] if language else []) + [""]:
            if (key, lang) in world.commands:
                return world.commands[(key, lang)]
    return []


@method("setChatMenuButton")
async def set_chat_menu_button(world: SandboxWorld, params: Params) -> bool:
    button = params.get_json("menu_button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
        raise bad_request("can't parse menu button JSON object")
    if params.has("chat_id"):
        world.chat(world.resolve_chat_id(params.get_str("chat_id"))).menu_button = button
    else:
        world.default_menu_button = button if button["type"] != "default" else {"type": "commands"}
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(world: SandboxWorld, params: Params) -> Json:
    if params.has("chat_id"):
        chat = world.chat(world.resolve_chat_id(params.get_str("chat_id")))
        if chat.menu_button is not None and chat.menu_button["type"] != "default":
            return chat.menu_button
    return world.default_menu_button


def _bot_text_methods(field: str) -> None:
    pascal = "".join(part.title() for part in field.split("_"))
    limit = _TEXT_LIMITS[field]

    async def set_text(world: SandboxWorld, params: Params) -> bool:
        value = params.get_str(field) or ""
        if len(value) > limit:
            raise bad_request(f"{field.upper()}_INVALID")
        world.bot_texts[(field, _language(params))] = value
        return True

    async def get_text(world: SandboxWorld, params: Params) -> Json:
        language = _language(params)
        value = world.bot_texts.get((field, language)) or world.bot_texts.get((field, ""), "")
        if field == "name" and not value:
            value = world.config.bot_first_name
        return {field: value}

    method(f"setMy{pascal}")(set_text)
    method(f"getMy{pascal}")(get_text)


for _field in _TEXT_LIMITS:
    _bot_text_methods(_field)
