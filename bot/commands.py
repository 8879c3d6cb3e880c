"""The command menu Telegram shows, in each language."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeDefault

from bot.i18n import SUPPORTED, I18n

# Commands shown in the menu, in order; each has a `command-<name>` description in locales.
MENU_COMMANDS: list[str] = [
    "start",
    "books",
    "new",
    "mode",
    "summary",
    "search",
    "stats",
    "top",
    "balance",
    "buy",
    "help",
    "settings",
    "language",
    "privacy",
]


async def set_commands(bot: Bot, i18n: I18n) -> None:
    for locale in SUPPORTED:
        commands = [
            BotCommand(command=name, description=i18n.get(locale, f"command-{name}"))
            for name in MENU_COMMANDS
        ]
        language_code = None if locale == i18n.default else locale
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language_code)
    # The default list serves every other language too.
