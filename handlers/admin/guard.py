"""The server-side guard of every admin handler: callback data and commands can be forged, so each
update is checked against the user's role as stored now, never against what buttons were shown."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from bot.settings import Settings
from bot.wiring.admin import build_admin
from db.models import User
from services.admin.actor import Actor
from services.admin.roles import staff_role
from services.admin.service import AdminService


def admin_service(ctx: Any) -> AdminService:
    """The installed AdminService, or one built now (when the admin installer is not registered)."""
    admin = ctx.services.get("admin")
    if admin is None:
        admin = ctx.services["admin"] = build_admin(ctx)
    return admin  # type: ignore[no-any-return]


class AdminFilter(Filter):
    """Passes owners (ADMIN_IDS) and admins (users.role), giving handlers `actor` and `admin`."""

    async def __call__(
        self,
        event: TelegramObject,
        user: User | None = None,
        settings: Settings | None = None,
        ctx: Any = None,
    ) -> bool | dict[str, Any]:
        if settings is None or ctx is None:
            return False
        role = staff_role(user, settings.admin_ids)
        if user is None or role is None:
            return False
        return {"actor": Actor(user.id, role), "admin": admin_service(ctx)}
