"""Every feature's router, in the order the dispatcher tries them."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import billing, chat, errors, fallback, settings, start

    # errors first (it only handles errors); fallback last (it takes whatever nobody else did).
    return [errors.router, start.router, billing.router, settings.router, chat.router, fallback.router]
