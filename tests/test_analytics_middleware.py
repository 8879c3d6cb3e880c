"""The analytics middleware names each update as an event kind and records sign-ups (and alerts admins)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from aiogram.types import CallbackQuery, Chat, Message, Update
from aiogram.types import User as TgUser

from bot.middlewares.analytics import AnalyticsMiddleware, event_kind

TG_USER = TgUser(id=5, is_bot=False, first_name="Ann")
CHAT = Chat(id=5, type="private")


def _message(**fields: Any) -> Update:
    return Update(
        update_id=1,
        message=Message(message_id=1, date=datetime.now(UTC), chat=CHAT, from_user=TG_USER, **fields),
    )


def test_event_kinds() -> None:
    assert event_kind(_message(text="/start ref_12")) == "command.start"
    assert event_kind(_message(text="/Books@LibrarityBot")) == "command.books"
    assert event_kind(_message(text="what is the whale?")) == "message.text"
    query = CallbackQuery(id="q", from_user=TG_USER, chat_instance="c", data="stg:toggle:quote")
    assert event_kind(Update(update_id=2, callback_query=query)) == "callback.stg"
    assert event_kind(Update(update_id=3)) is None


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[int | None, str, dict[str, Any]]] = []

    def record(self, user_id: int | None, kind: str, **props: Any) -> None:
        self.events.append((user_id, kind, props))


class _Alerts:
    def __init__(self) -> None:
        self.new: list[int] = []

    def new_user(self, user_id: int, name: str, username: str | None, language: str) -> None:
        self.new.append(user_id)


async def test_signup_and_command_are_recorded_and_the_handler_still_runs() -> None:
    recorder, alerts = _Recorder(), _Alerts()
    middleware = AnalyticsMiddleware(recorder, alerts)  # type: ignore[arg-type]
    user = SimpleNamespace(id=5, language="en", full_name="Ann", username=None, active_book_id=9)

    async def handler(event: Any, data: dict[str, Any]) -> str:
        return "handled"

    assert (
        await middleware(handler, _message(text="/start"), {"user": user, "user_created": True}) == "handled"
    )
    assert recorder.events == [(5, "signup", {"language": "en"}), (5, "command.start", {"book_id": 9})]
    assert alerts.new == [5]
    # A broken recorder never breaks the update.
    middleware.analytics = None  # type: ignore[assignment]
    assert await middleware(handler, _message(text="hi"), {"user": user}) == "handled"


async def test_refunds_alert_the_admins_and_payments_are_left_to_billing() -> None:
    # A payment is alerted by billing once it knows the payment is new (not a redelivery).
    from aiogram.types import RefundedPayment, SuccessfulPayment

    recorder = _Recorder()
    alerts = SimpleNamespace(payments=[], refunds=[])
    alerts.payment = lambda uid, amount, currency, what="": alerts.payments.append(
        (uid, amount, currency, what)
    )
    alerts.refund = lambda uid, amount, currency: alerts.refunds.append((uid, amount, currency))
    middleware = AnalyticsMiddleware(recorder, alerts)  # type: ignore[arg-type]
    user = SimpleNamespace(id=5, language="en", full_name="Ann", username=None, active_book_id=None)

    async def handler(event: Any, data: dict[str, Any]) -> None:
        return None

    paid = SuccessfulPayment(
        currency="XTR",
        total_amount=250,
        invoice_payload="plan_pro:1",
        telegram_payment_charge_id="ch1",
        provider_payment_charge_id="",
    )
    await middleware(handler, _message(successful_payment=paid), {"user": user})
    refund = RefundedPayment(
        currency="XTR", total_amount=250, invoice_payload="plan_pro:1", telegram_payment_charge_id="ch1"
    )
    await middleware(handler, _message(refunded_payment=refund), {"user": user})
    assert alerts.payments == [] and alerts.refunds == [(5, 250.0, "XTR")]
    assert [kind for _, kind, _ in recorder.events] == [
        "message.successful_payment",
        "message.refunded_payment",
    ]
