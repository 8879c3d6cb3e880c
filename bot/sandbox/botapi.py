"""The Bot API side of the emulator: `/bot<token>/<method>` calls and `/file/bot<token>/<path>` downloads."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.sandbox.errors import BotApiError, not_found, unauthorized
from bot.sandbox.methods import find_method
from bot.sandbox.params import Params
from bot.sandbox.world import SandboxWorld

logger = logging.getLogger(__name__)

WORLD_KEY = web.AppKey("sandbox_world", SandboxWorld)


def _chat_id_of(world: SandboxWorld, params: Params) -> int | None:
    """The chat a call concerns, for pacing and for the per-chat call log."""
    for key, store in (
        ("callback_query_id", world.callback_queries),
        ("pre_checkout_query_id", world.pre_checkout_queries),
    ):
        query = store.get(params.get_str(key) or "")
        if query is not None:
            return query.user_id
    for key in ("chat_id", "user_id"):
        value = params.get_str(key)
        if value:
            try:
                return world.resolve_chat_id(value)
            except BotApiError:
                return None
    return None


async def call_method(world: SandboxWorld, name: str, params: Params) -> Any:
    """Run one Bot API call as Telegram would, recording it in the call log."""
    spec = find_method(name)
    method_name = spec.name if spec is not None else name
    chat_id = _chat_id_of(world, params)
    try:
        if spec is None:
            raise not_found()
        world.check_flood(spec.name, chat_id, spec.paced)
        result = await spec.handler(world, params)
    except BotApiError as e:
        world.log_call(method_name, params.loggable(), chat_id, e.description)
        # What Telegram would refuse shows in the sandbox's console, where the bot's developer looks.
        logger.info("Bot API %s -> %s %s", method_name, e.error_code, e.description)
        raise
    world.log_call(method_name, params.loggable(), chat_id, None)
    return result


def _error(error: BotApiError) -> web.Response:
    return web.json_response(error.to_json(), status=error.error_code)


async def handle_call(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    if not world.authorize(request.match_info["token"]):
        return _error(unauthorized())
    try:
        params = await Params.from_request(request)
        result = await call_method(world, request.match_info["method"], params)
    except BotApiError as e:
        return _error(e)
    return web.json_response({"ok": True, "result": result})


async def handle_download(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    if not world.authorize(request.match_info["token"]):
        return _error(unauthorized())
    stored = world.file_by_path(request.match_info["path"])
    if stored is None:
        return _error(not_found())
    return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/bot{token}/{method}", handle_call)
    app.router.add_get("/file/bot{token}/{path:.+}", handle_download)
