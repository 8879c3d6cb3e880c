"""The admin's multi-step inputs."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class UserSearchInput(StatesGroup):
    query = State()


class CreditsInput(StatesGroup):
    amount = State()
    reason = State()


class BroadcastInput(StatesGroup):
    message = State()
    button = State()
    audience = State()


class SupportReplyInput(StatesGroup):
    text = State()


ADMIN_STATES = (UserSearchInput, CreditsInput, BroadcastInput, SupportReplyInput)
