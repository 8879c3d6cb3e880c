"""Every command a message names exists: the texts in every locale point only at commands the bot handles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from aiogram import Router
from aiogram.filters import Command

from handlers import get_routers

LOCALES = Path(__file__).resolve().parents[1] / "locales"
# "/word" at the start of a text or after a space or punctuation; not inside URLs ("t.me/...").
NAMED = re.compile(r"(?:^|[\s(«\"'„“—:,])/([a-z][a-z_]{1,31})\b", re.M)


def handled_commands(router: Router) -> Iterator[str]:
    for handler in router.message.handlers:
        for filter_ in handler.filters or []:
            if isinstance(filter_.callback, Command):
                yield from (c for c in filter_.callback.commands if isinstance(c, str))
    for child in router.sub_routers:
        yield from handled_commands(child)


def test_every_command_named_in_a_message_is_handled() -> None:
    handled = {name for router in get_routers() for name in handled_commands(router)}
    named: dict[str, set[str]] = {}
    for path in LOCALES.glob("*/*.ftl"):
        for name in NAMED.findall(path.read_text(encoding="utf-8")):
            named.setdefault(name, set()).add(f"{path.parent.name}/{path.name}")
    assert named, "the scan finds the commands that messages name"
    missing = {name: sorted(files) for name, files in named.items() if name not in handled}
    assert not missing, f"messages name commands the bot does not handle: {missing}"
