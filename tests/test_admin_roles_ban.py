"""Roles (pure rules) and the ban middleware (on both databases): one notice, then nothing gets through."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiogram.types import Chat, Message, SuccessfulPayment, Update
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import I18n
from bot.middlewares.ban import BanMiddleware
from db.models import User
from services.admin.bans import BanRegistry
from services.admin.roles import (
    Role,
    can_set_role,
    effective_role,
    outranks,
    staff_role,
    stored_role_for_plan,
)
from tests.admin_helpers import add_user

OWNER = 1


def _user(user_id: int, role: str = "user", banned: bool = False) -> User:
    return User(id=user_id, role=role, banned=banned, language="en", settings={})


def test_staff_roles() -> None:
    assert staff_role(_user(OWNER, "owner"), [OWNER]) == Role.OWNER
    assert staff_role(_user(OWNER, "user"), [OWNER]) == Role.OWNER  # ADMIN_IDS decide
    assert staff_role(_user(5, "owner"), [OWNER]) is None  # removed from ADMIN_IDS: no powers left
    assert staff_role(_user(2, "admin"), [OWNER]) == Role.ADMIN
    assert staff_role(_user(2, "admin", banned=True), [OWNER]) is None
    assert staff_role(_user(3, "subscriber"), [OWNER]) is None
    assert staff_role(None, [OWNER]) is None


def test_effective_role_follows_the_plan() -> None:
    assert effective_role(_user(3), [OWNER], "pro") == Role.SUBSCRIBER
    assert effective_role(_user(3, "subscriber"), [OWNER], "free") == Role.USER
    assert effective_role(_user(3, "subscriber"), [OWNER]) == Role.SUBSCRIBER
    assert effective_role(_user(2, "admin"), [OWNER], "pro") == Role.ADMIN
    assert stored_role_for_plan("admin", "free") == "admin"
    assert stored_role_for_plan("user", "scholar") == "subscriber"


def test_who_may_do_what() -> None:
    assert outranks(Role.OWNER, Role.ADMIN) and outranks(Role.ADMIN, Role.SUBSCRIBER)
    assert not outranks(Role.ADMIN, Role.ADMIN) and not outranks(Role.OWNER, Role.OWNER)
    assert can_set_role(Role.OWNER, Role.USER, Role.ADMIN)
    assert not can_set_role(Role.ADMIN, Role.USER, Role.ADMIN)
    assert not can_set_role(Role.OWNER, Role.OWNER, Role.USER)
    assert not can_set_role(Role.OWNER, Role.USER, Role.OWNER)


class FakeBot:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_: Any) -> None:
        self.sent.append((chat_id, text))


def _update(update_id: int, user_id: int, **message: Any) -> Update:
    tg_user = TgUser(id=user_id, is_bot=False, first_name="U")
    body = {"text": "hello"} if not message else message
    return Update(
        update_id=update_id,
        message=Message(
            message_id=update_id,
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type="private"),
            from_user=tg_user,
            **body,
        ),
    )


async def _run(
    middleware: BanMiddleware,
    factory: async_sessionmaker[AsyncSession],
    bot: FakeBot,
    update: Update,
    user_id: int,
) -> bool:
    """Feed one update through the middleware; True when it reached the handler."""
    reached = False

    async def handler(event: Any, data: dict[str, Any]) -> None:
        nonlocal reached
        reached = True

    async with factory() as session:
        user = await session.get(User, user_id)
        await middleware(handler, update, {"user": user, "session": session, "bot": bot})
    return reached


async def test_banned_user_is_told_once_and_nothing_gets_through(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_user(session_factory, 3, "Ivan", language="ru")
    await add_user(session_factory, 4, "Free")
    await add_user(session_factory, OWNER, "Olga", role="owner")
    middleware = BanMiddleware(I18n(), [OWNER])
    bot = FakeBot()
    assert await _run(middleware, session_factory, bot, _update(1, 3), 3)
    async with session_factory() as session:
        for user_id in (3, OWNER):
            user = await session.get(User, user_id)
            assert user is not None
            await BanRegistry().ban(session, user, by=OWNER)
        await session.commit()
    reached = await asyncio.gather(
        *(_run(middleware, session_factory, bot, _update(10 + n, 3), 3) for n in range(5))
    )
    assert not any(reached)
    assert not await _run(middleware, session_factory, bot, _update(20, 3), 3)
    assert bot.sent == [(3, I18n().get("ru", "ban-notice"))]
    # Money still settles; other users and the owners are untouched.
    paid = SuccessfulPayment(
        currency="XTR",
        total_amount=50,
        invoice_payload="p",
        telegram_payment_charge_id="c",
        provider_payment_charge_id="",
    )
    assert await _run(middleware, session_factory, bot, _update(21, 3, successful_payment=paid), 3)
    assert await _run(middleware, session_factory, bot, _update(22, 4), 4)
    assert await _run(middleware, session_factory, bot, _update(23, OWNER), OWNER)
    assert len(bot.sent) == 1
