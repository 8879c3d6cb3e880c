"""reply_markup as the Bot API checks it: inline keyboards (callback data within 64 bytes, one action
per button) and reply keyboards, which Telegram shows to the user but never returns in a Message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.sandbox.errors import BUTTON_DATA_INVALID, bad_request
from bot.sandbox.params import Params

Json = dict[str, Any]

MAX_CALLBACK_DATA_BYTES = 64
_INLINE_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text", "callback_game",
    "pay",
)  # fmt: skip
_URL_SCHEMES = ("http://", "https://", "tg://")


@dataclass(frozen=True)
class Markup:
    """The inline keyboard that goes into the Message object, and a reply keyboard shown beside it."""

    inline: Json | None = None
    reply_keyboard: Json | None = None


def _check_inline_button(button: Any) -> Json:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    actions = [key for key in _INLINE_ACTIONS if key in button and button[key] not in (None, False)]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request(BUTTON_DATA_INVALID)
    if "url" in button and not str(button["url"]).startswith(_URL_SCHEMES):
        raise bad_request("BUTTON_URL_INVALID")
    return button


def parse_inline_keyboard(value: Any) -> Json:
    rows = value.get("inline_keyboard") if isinstance(value, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('can\'t parse inline keyboard markup: field "inline_keyboard" must be an Array')
    return {"inline_keyboard": [[_check_inline_button(button) for button in row] for row in rows]}


def _reply_button(button: Any) -> Json:
    if isinstance(button, str):
        return {"text": button}
    if isinstance(button, dict) and isinstance(button.get("text"), str):
        return button
    raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')


def parse_markup(params: Params, *, inline_only: bool = False) -> Markup:
    value = params.get_json("reply_markup")
    if value is None:
        return Markup()
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        inline = parse_inline_keyboard(value)
        return Markup(inline=inline if inline["inline_keyboard"] else None)
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in value:
        rows = value["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('can\'t parse reply keyboard markup: field "keyboard" must be an Array')
        keyboard = {**value, "keyboard": [[_reply_button(b) for b in row] for row in rows]}
        return Markup(reply_keyboard=keyboard)
    if value.get("remove_keyboard") or value.get("force_reply"):
        return Markup(reply_keyboard=value)
    raise bad_request('can\'t find field "inline_keyboard"')


def callback_buttons(markup: Json | None) -> list[Json]:
    if not markup:
        return []
    return [b for row in markup.get("inline_keyboard", []) for b in row if "callback_data" in b]
