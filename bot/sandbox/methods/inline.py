"""Inline mode: answerInlineQuery, checked as Telegram checks it (at most 50 results, unique ids within
64 bytes, message text within 4096 characters after parsing, a sane cache_time and button)."""

from __future__ import annotations

import time

from bot.sandbox.errors import QUERY_TOO_OLD, bad_request
from bot.sandbox.markup import parse_markup
from bot.sandbox.methods.common import TEXT_LIMIT, formatted_text
from bot.sandbox.methods.registry import method
from bot.sandbox.models import Json
from bot.sandbox.params import Params
from bot.sandbox.world import SandboxWorld

MAX_RESULTS = 50
RESULT_ID_LIMIT = 64
RESULT_TYPES = frozenset({"article"})  # what the emulator can post when a result is chosen
START_PARAMETER_LIMIT = 64


def _result(raw: object, index: int) -> Json:
    if not isinstance(raw, dict):
        raise bad_request(f"RESULT_{index}_INVALID")
    kind = raw.get("type")
    if kind not in RESULT_TYPES:
        raise bad_request("RESULT_TYPE_INVALID")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise bad_request("RESULT_TITLE_EMPTY")
    content = raw.get("input_message_content")
    if not isinstance(content, dict) or not isinstance(content.get("message_text"), str):
        raise bad_request("MESSAGE_EMPTY")
    values = {"text": content["message_text"]}
    for key in ("parse_mode", "entities"):
        if key in content:
            values[key] = content[key]
    text, entities = formatted_text(Params(values))
    if not text:
        raise bad_request("MESSAGE_EMPTY")
    if len(text) > TEXT_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    message: Json = {"text": text}
    if entities:
        message["entities"] = entities
    if "reply_markup" in raw:
        markup = parse_markup(Params({"reply_markup": raw["reply_markup"]}), inline_only=True)
        if markup.inline is not None:
            message["reply_markup"] = markup.inline
    shown = {k: raw[k] for k in ("title", "description") if isinstance(raw.get(k), str)}
    return {"id": raw.get("id"), "type": kind, **shown, "message": message}


def _button(raw: object) -> Json:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or not raw["text"]:
        raise bad_request("BUTTON_TEXT_INVALID")
    start = raw.get("start_parameter")
    if start is not None and (
        not isinstance(start, str)
        or not 1 <= len(start) <= START_PARAMETER_LIMIT
        or not all(c.isascii() and (c.isalnum() or c in "_-") for c in start)
    ):
        raise bad_request("START_PARAM_INVALID")
    return {k: raw[k] for k in ("text", "start_parameter") if k in raw}


@method("answerInlineQuery")
async def answer_inline_query(world: SandboxWorld, params: Params) -> bool:
    query = world.inline_queries.get(params.require_str("inline_query_id"))
    expired = query is not None and time.monotonic() - query.created > world.config.callback_query_lifetime
    if query is None or query.answer.done() or expired:
        raise bad_request(QUERY_TOO_OLD)
    raw_results = params.get_json("results")
    if not isinstance(raw_results, list):
        raise bad_request("RESULTS_INVALID")
    if len(raw_results) > MAX_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    cache_time = params.get_int("cache_time", 300)
    if cache_time is None or cache_time < 0:
        raise bad_request("CACHE_TIME_INVALID")
    results: list[Json] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_results):
        result = _result(raw, index)
        result_id = result["id"]
        if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= RESULT_ID_LIMIT:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        results.append(result)
    answer: Json = {"results": results, "cache_time": cache_time, "is_personal": params.get_bool("is_personal")}
    if params.has("button"):
        answer["button"] = _button(params.get_json("button"))
    if params.has("next_offset"):
        answer["next_offset"] = params.get_str("next_offset") or ""
    query.answer.set_result(answer)
    return True
