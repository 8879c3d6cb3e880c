"""Every feature's router, in the order the dispatcher tries them."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import (
        admin,
        billing,
        cards,
        chat,
        engagement,
        errors,
        fallback,
        inline,
        leaderboard,
        library,
        privacy,
        reading,
        settings,
        start,
    )

    # errors first (it only handles errors); fallback last (it takes whatever nobody else did).
    # admin early: its typed inputs (a search, an amount) must beat the chat's catch-all text handler;
    # its guard turns everyone else away at once.
    return [
        errors.router,
        # before every command: a command instead of the asked-for display name ends the asking
        leaderboard.router,
        admin.router,
        start.router,
        billing.router,
        settings.router,
        privacy.router,
        engagement.router,
        cards.router,
        library.router,
        reading.router,  # its typed percentage before the chat takes text as a question
        inline.router,  # before chat: a passage posted via the bot is not a question
        chat.router,
        fallback.router,
    ]
