"""Payments end to end through the sandbox: Stars invoices (paid once, a redelivered successful_payment
credits nothing more, a paid invoice can't be paid again, nor twice at once), a Pro subscription with a
renewal and a cancellation, a refund that takes the credits back, and a card payment settled by a YooKassa
notification that reaches the sandbox's HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.sandbox.runner import AppFactory, librarity_app
from db.models import Book, BookStatus, Chunk, User
from db.models.billing import LedgerEntry, Payment
from handlers.chat_ui import SummaryCb
from services.billing.service import BalanceSummary, BillingService
from tests.e2e.client import Message, SandboxHarness, UserClient, buttons_of, text_of
from tests.fakes.yookassa_server import FakeYooKassaServer

ADMIN = 777


@pytest.fixture
async def yookassa() -> AsyncIterator[FakeYooKassaServer]:
    async with FakeYooKassaServer() as server:
        yield server


@pytest.fixture
def sandbox_app_factory(make_settings: Any, yookassa: FakeYooKassaServer) -> AppFactory:
    return librarity_app(
        make_settings(
            admin_ids=[ADMIN],
            billing_free_monthly_credits=100,
            billing_trial_credits=300,
            billing_packs=["100:50:9900", "500:200:39900"],
            billing_pro_stars=250,
            billing_pro_monthly_credits=1500,
            yookassa_shop_id=yookassa.shop_id,
            yookassa_secret_key=yookassa.secret_key,
            yookassa_api_url=yookassa.api_url,
            yookassa_trusted_networks=["127.0.0.1/32"],
            yookassa_receipt_email="shop@example.com",
            scheduler_enabled=False,
            gemini_api_key="never-called",  # questions cost credits (none is asked of the model here)
        )
    )


def _billing(sandbox: SandboxHarness) -> BillingService:
    billing: BillingService = sandbox.running.dispatcher["billing"]
    return billing


async def _balance(sandbox: SandboxHarness, user_id: int) -> int:
    billing = _billing(sandbox)
    async with sandbox.running.dispatcher["ctx"].session_factory() as session:
        balance = await billing.ledger.balance(session, user_id)
        assert balance == await billing.ledger.total(session, user_id), "the ledger sums to the balance"
        return balance


async def _summary(sandbox: SandboxHarness, user_id: int) -> BalanceSummary:
    async with sandbox.running.dispatcher["ctx"].session_factory() as session:
        return await _billing(sandbox).summary(session, user_id)


async def _started(user: UserClient) -> int:
    """/start: the welcome and the trial gift; returns the last message id seen."""
    sent = await user.send("/start")
    gift = await user.wait_reply(int(sent["message_id"]), contains="Pro for 7 days")
    return int(gift["message_id"])


async def _buy_menu(user: UserClient) -> Message:
    return await user.ask("/buy", contains="Credit packs")


def _invoice(messages: list[Message]) -> Message | None:
    return next((m for m in messages if m.get("invoice")), None)


async def test_stars_pack_is_credited_exactly_once(sandbox_bot: SandboxHarness, user: UserClient) -> None:
    last = await _started(user)
    assert await _balance(sandbox_bot, user.user_id) == 400  # free credits + the trial's
    menu = await _buy_menu(user)
    labels = [b["text"] for b in buttons_of(menu)]
    assert any("⭐" in label for label in labels) and any("₽" in label for label in labels), labels

    await user.tap_button(menu, "100 credits · 50")
    invoice = await user.wait_for(_invoice, after=int(menu["message_id"]))
    assert invoice["invoice"]["currency"] == "XTR" and invoice["invoice"]["total_amount"] == 50
    paid = await user.pay(int(invoice["message_id"]))
    assert paid["status"] == "paid", paid
    thanks = await user.wait_reply(int(invoice["message_id"]), contains="100 credits added")
    assert await _balance(sandbox_bot, user.user_id) == 500

    # Telegram delivers the same successful_payment again: nothing more is credited or said.
    await user.redeliver(last="successful_payment")
    again = await user.ask("/balance", contains="credits")
    assert "500 credits" in text_of(again)
    said = [m for m in await user.messages(int(thanks["message_id"])) if "credits added" in text_of(m)]
    assert not said, "no second thank-you"
    assert await _balance(sandbox_bot, user.user_id) == 500

    # The paid invoice cannot be paid twice: the pre-checkout says no.
    second = await user.pay(int(invoice["message_id"]))
    assert second["status"] == "declined", second
    assert await _balance(sandbox_bot, user.user_id) == 500
    assert last > 0


async def test_a_redelivered_payment_alerts_the_admins_once(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    admin = sandbox_bot.user(ADMIN)
    await admin.ask("/start")
    alerts = sandbox_bot.running.dispatcher["alerts"]
    await alerts.flush()  # the sign-ups so far
    await _started(user)
    menu = await _buy_menu(user)
    await user.tap_button(menu, "100 credits · 50")
    invoice = await user.wait_for(_invoice, after=int(menu["message_id"]))
    await user.pay(int(invoice["message_id"]))
    await user.wait_reply(int(invoice["message_id"]), contains="100 credits added")
    await user.redeliver(last="successful_payment")
    await user.ask("/balance", contains="credits")  # the redelivered update has been handled by now
    seen = await admin.messages()

    await alerts.flush()
    alert = [
        text_of(m) for m in await admin.messages(int(seen[-1]["message_id"])) if "Payments" in text_of(m)
    ]
    assert len(alert) == 1, alert
    assert "Payments: 1" in alert[0] and alert[0].count(f"from {user.user_id}") == 1, alert[0]


async def test_one_invoice_paid_five_times_at_once_is_charged_once(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    await _started(user)
    menu = await _buy_menu(user)
    await user.tap_button(menu, "100 credits · 50")
    invoice = await user.wait_for(_invoice, after=int(menu["message_id"]))

    tries = await asyncio.gather(*(user.pay(int(invoice["message_id"])) for _ in range(5)))
    assert [t["status"] for t in tries].count("paid") == 1, tries
    declined = [t for t in tries if t["status"] == "declined"]
    assert len(declined) == 4, tries
    # Declined while the approved payment is under way, or (if it already landed) as paid.
    said = {t["error_message"] for t in declined}
    assert said <= {
        "This invoice is already being paid. If that payment didn't go through, try again in 10 minutes "
        "or open /buy for a new invoice.",
        "This invoice has already been paid.",
    }, said
    await user.wait_reply(int(invoice["message_id"]), contains="100 credits added")
    assert await _balance(sandbox_bot, user.user_id) == 500
    assert len(await user.control.payments(user.user_id)) == 1, "the user paid once"


async def test_pro_subscription_renews_and_cancels(sandbox_bot: SandboxHarness, user: UserClient) -> None:
    await _started(user)
    menu = await _buy_menu(user)
    await user.tap_button(menu, "Pro · 250")
    offer = await user.wait_reply(int(menu["message_id"]), contains="Subscribe")
    paid = await user.tap_button(offer, "Subscribe")
    assert paid["status"] == "paid", paid
    charge_id = paid["telegram_payment_charge_id"]
    welcome = await user.wait_reply(int(offer["message_id"]), contains="You're on")
    assert "Pro" in text_of(welcome)
    assert await _balance(sandbox_bot, user.user_id) == 400 + 1500

    renewed = await user.renew_subscription(charge_id)
    assert renewed.get("telegram_payment_charge_id") != charge_id
    await user.wait_reply(int(welcome["message_id"]), contains="renewed until")
    assert await _balance(sandbox_bot, user.user_id) == 400 + 3000

    balance = await user.ask("/balance", contains="credits")
    assert "renews on" in text_of(balance)
    await user.tap_button(balance, "Cancel subscription")
    canceled = await user.wait_reply(int(balance["message_id"]), contains="Subscription canceled")
    payments = await user.control.payments(user.user_id)
    assert payments and all(p["subscription_canceled"] for p in payments)
    calls = await user.control.calls("editUserStarSubscription")
    assert calls and calls[-1]["params"]["is_canceled"] in (True, "true", "True")

    # The /balance message itself now says the plan won't renew and offers to resume, not to cancel.
    edited = await user.message(int(balance["message_id"]))
    assert edited is not None
    assert "renews on" not in text_of(edited) and "stays until" in text_of(edited), text_of(edited)
    labels = [b["text"] for b in buttons_of(edited)]
    assert "Resume subscription" in labels and "Cancel subscription" not in labels, labels

    await user.tap_button(edited, "Resume subscription")
    await user.wait_reply(int(canceled["message_id"]), contains="Subscription resumed")
    resumed = await user.message(int(balance["message_id"]))
    assert resumed is not None and "renews on" in text_of(resumed), resumed
    assert "Cancel subscription" in [b["text"] for b in buttons_of(resumed)]


async def test_refund_takes_the_credits_back(sandbox_bot: SandboxHarness, user: UserClient) -> None:
    await _started(user)
    menu = await _buy_menu(user)
    await user.tap_button(menu, "500 credits · 200")
    invoice = await user.wait_for(_invoice, after=int(menu["message_id"]))
    paid = await user.pay(int(invoice["message_id"]))
    await user.wait_reply(int(invoice["message_id"]), contains="500 credits added")
    assert await _balance(sandbox_bot, user.user_id) == 900

    admin = sandbox_bot.user(ADMIN)
    await admin.send("/start")
    done = await admin.ask(f"/refund {paid['telegram_payment_charge_id']}", contains="Refunded")
    assert "500 of 500" in text_of(done)
    notice = await user.wait_reply(int(invoice["message_id"]), contains="refunded")
    assert "500 credits were taken back" in text_of(notice)
    assert await _balance(sandbox_bot, user.user_id) == 400
    refunds = [p for p in await user.control.payments(user.user_id) if p["refunded"]]
    assert len(refunds) == 1

    # The refunded_payment update that followed was recorded once; asking again changes nothing.
    again = await admin.ask(f"/refund {paid['telegram_payment_charge_id']}", contains="already")
    assert again
    async with sandbox_bot.running.dispatcher["ctx"].session_factory() as session:
        entries = await session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.user_id == user.user_id, LedgerEntry.reason == "refund")
        )
        assert entries == 1
    assert await _balance(sandbox_bot, user.user_id) == 400
    messages = [m for m in await user.messages(int(invoice["message_id"])) if "refunded" in text_of(m)]
    assert len(messages) == 1, "the user is told once"


async def test_refunding_a_renewal_keeps_the_month_paid_before_it(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    await _started(user)
    menu = await _buy_menu(user)
    await user.tap_button(menu, "Pro · 250")
    offer = await user.wait_reply(int(menu["message_id"]), contains="Subscribe")
    first = await user.tap_button(offer, "Subscribe")
    welcome = await user.wait_reply(int(offer["message_id"]), contains="You're on")
    renewal = await user.renew_subscription(first["telegram_payment_charge_id"])
    renewed = await user.wait_reply(int(welcome["message_id"]), contains="renewed until")
    assert await _balance(sandbox_bot, user.user_id) == 400 + 3000

    admin = sandbox_bot.user(ADMIN)
    await admin.send("/start")
    done = await admin.ask(f"/refund {renewal['telegram_payment_charge_id']}", contains="Refunded")
    assert "1,500 of 1,500" in text_of(done)
    notice = await user.wait_reply(int(renewed["message_id"]), contains="refunded")
    assert "Free again" not in text_of(notice), text_of(notice)
    assert await _balance(sandbox_bot, user.user_id) == 400 + 1500

    # Pro stays until the end of the first, still paid, month and won't renew.
    payments = {p["telegram_payment_charge_id"]: p for p in await user.control.payments(user.user_id)}
    first_end = datetime.fromtimestamp(
        payments[first["telegram_payment_charge_id"]]["subscription_expiration_date"], UTC
    )
    summary = await _summary(sandbox_bot, user.user_id)
    assert summary.plan == "pro" and summary.plan_expires_at == first_end, summary
    assert summary.subscription_canceled and not summary.subscription_active, summary
    balance = await user.ask("/balance", contains="credits")
    assert f"stays until {first_end.date().isoformat()}" in text_of(balance), text_of(balance)

    # Refunding the first month too leaves nothing paid: back to Free.
    await admin.ask(f"/refund {first['telegram_payment_charge_id']}", contains="Refunded")
    assert (await _summary(sandbox_bot, user.user_id)).plan == "free"


async def test_card_payment_settled_by_a_notification_to_the_sandbox(
    sandbox_bot: SandboxHarness, user: UserClient, yookassa: FakeYooKassaServer
) -> None:
    await _started(user)
    menu = await _buy_menu(user)
    await user.tap_button(menu, "500 credits · 399.00")
    pay = await user.wait_reply(int(menu["message_id"]), contains="YooKassa")
    url = next(b["url"] for b in buttons_of(pay) if "url" in b)
    payment_id = url.rsplit("/", 1)[-1]
    yookassa.set_status(payment_id, "succeeded")
    path = _billing(sandbox_bot).settings.yookassa_webhook_path
    for _ in range(2):  # duplicated
        async with user.session.post(
            f"{sandbox_bot.base_url}{path}", json=yookassa.notification(payment_id)
        ) as response:
            assert response.status == 200
    await user.wait_reply(int(pay["message_id"]), contains="500 credits added")
    assert await _balance(sandbox_bot, user.user_id) == 900
    async with sandbox_bot.running.dispatcher["ctx"].session_factory() as session:
        count = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.user_id == user.user_id)
        )
        assert count == 1


async def _book_and_balance(sandbox: SandboxHarness, user: UserClient, left: int) -> int:
    """A ready active book (one passage, never indexed) and only `left` credits; the book's id."""
    billing = _billing(sandbox)
    async with sandbox.running.dispatcher["ctx"].session_factory() as session:
        book = Book(
            user_id=user.user_id, file_sha256="f" * 64, file_name="keeper.txt", file_size=10, title="Keeper",
            status=BookStatus.READY, progress=1.0, attempts=1, chunks=1,
        )  # fmt: skip
        session.add(book)
        await session.flush()
        session.add(Chunk(book_id=book.id, seq=0, text="The keeper lit the lamp every evening.", percent=0.0))
        me = await session.get(User, user.user_id)
        assert me is not None
        me.active_book_id = book.id
        balance = await billing.ledger.balance(session, user.user_id)
        await billing.ledger.charge(session, user.user_id, balance - left, "test", None, "spend-it")
        await session.commit()
        return book.id


async def test_a_summary_dearer_than_the_balance_is_refused_with_buy_buttons(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    await _started(user)
    book_id = await _book_and_balance(sandbox_bot, user, left=5)
    offer = await user.ask("/summary", contains="20")  # the price is shown before anything runs
    await user.tap(int(offer["message_id"]), SummaryCb(action="go", book_id=book_id).pack())
    refusal = await user.wait_reply(int(offer["message_id"]), contains="out of credits")
    assert any("⭐" in b["text"] for b in buttons_of(refusal))
    assert await _balance(sandbox_bot, user.user_id) == 5


async def test_out_of_credits_question_gets_buy_buttons_and_no_charge(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    await _started(user)
    await _book_and_balance(sandbox_bot, user, left=0)
    async with sandbox_bot.running.dispatcher["ctx"].session_factory() as session:
        entries = await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.user_id == user.user_id)
        )

    reply = await user.ask("Who kept the lighthouse?")
    assert "out of credits" in text_of(reply)
    labels = [b["text"] for b in buttons_of(reply)]
    assert any("⭐" in label for label in labels), labels
    assert await _balance(sandbox_bot, user.user_id) == 0
    async with sandbox_bot.running.dispatcher["ctx"].session_factory() as session:
        after = await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.user_id == user.user_id)
        )
    assert after == entries, "nothing charged, nothing recorded"
