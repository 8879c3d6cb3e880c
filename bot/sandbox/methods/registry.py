"""The table of Bot API methods the emulator implements; names match case-insensitively, as Telegram's do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.sandbox.params import Params
from bot.sandbox.world import SandboxWorld

Handler = Callable[[SandboxWorld, Params], Awaitable[Any]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class MethodSpec:
    name: str
    handler: Handler
    #: Sends or edits something in a chat, so Telegram's pacing applies.
    paced: bool


_METHODS: dict[str, MethodSpec] = {}


def method(name: str, *, paced: bool = False) -> Callable[[H], H]:
    def register(handler: H) -> H:
        _METHODS[name.lower()] = MethodSpec(name, handler, paced)
        return handler

    return register


def find_method(name: str) -> MethodSpec | None:
    return _METHODS.get(name.lower())


def method_names() -> list[str]:
    return sorted(spec.name for spec in _METHODS.values())
