"""Bot API methods of the emulator, one module per area; importing this package registers them all."""

from bot.sandbox.methods import bot_info, chats, files, inline, messages, payments, polling
from bot.sandbox.methods.registry import MethodSpec, find_method, method_names

__all__ = [
    "MethodSpec",
    "bot_info",
    "chats",
    "files",
    "find_method",
    "inline",
    "messages",
    "method_names",
    "payments",
    "polling",
]
