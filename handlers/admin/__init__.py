"""The admin: /admin and every admin button, for owners (ADMIN_IDS) and admins only.

One guarded router holds every admin handler; its filters run before any of them, for messages and
callback queries alike, so nothing reaches an admin handler without the role check (callback data can
be forged). What the guard turns away falls to `refusal`, which refuses admin buttons out loud; /admin
from anyone else falls through to the fallback, as any unknown command does.
"""

from __future__ import annotations

from aiogram import Router

from handlers.admin import books, broadcast, export, menu, payments, quotes, refusal, support, users
from handlers.admin.guard import AdminFilter

guarded = Router(name="handlers.admin.guarded")
guarded.message.filter(AdminFilter())
guarded.callback_query.filter(AdminFilter())
guarded.include_routers(
    menu.router,
    users.router,
    books.router,
    payments.router,
    broadcast.router,
    export.router,
    support.router,
    quotes.router,
)

router = Router(name=__name__)
router.include_routers(guarded, refusal.router)

__all__ = ["router"]
