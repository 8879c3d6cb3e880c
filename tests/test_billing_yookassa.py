"""YooKassa against a local server speaking its API, with the real SDK: idempotent payments, receipts,
a webhook that trusts nothing (duplicated, reordered, forged and late notifications: credited exactly
once, nothing lost), re-checks of pending orders, and an API that hangs without freezing the loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.models.billing import Payment, PaymentOrder
from services.billing.factory import build_billing
from services.billing.service import BillingService
from services.billing.webhook import YooKassaWebhook, parse_networks, sender_address
from services.billing.yookassa import PaymentEvent, YooKassaGateway, YooKassaUnavailable, kopecks_from
from tests.fakes.yookassa_server import FakeYooKassaServer

USER = 501
YOOKASSA_IP = "185.71.76.10"


@pytest.fixture
async def yookassa() -> AsyncIterator[FakeYooKassaServer]:
    async with FakeYooKassaServer() as server:
        yield server


@pytest.fixture
def billing(make_settings, yookassa: FakeYooKassaServer, session_factory) -> BillingService:  # type: ignore[no-untyped-def]
    settings = make_settings(
        yookassa_shop_id=yookassa.shop_id,
        yookassa_secret_key=yookassa.secret_key,
        yookassa_api_url=yookassa.api_url,
        yookassa_trusted_proxies=["127.0.0.1/32"],
        yookassa_receipt_email="shop@example.com",
        yookassa_timeout_seconds=2.0,
        billing_free_monthly_credits=100,
    )
    return build_billing(settings, session_factory)


class Webhook:
    """The notification endpoint served on 127.0.0.1 behind our 'proxy' (X-Forwarded-For believed)."""

    def __init__(self, url: str, events: list[PaymentEvent]) -> None:
        self.url = url
        self.events = events
        self.http = aiohttp.ClientSession()

    async def deliver(self, body: dict[str, Any], sender: str | None = YOOKASSA_IP) -> int:
        headers = {"X-Forwarded-For": sender} if sender else {}
        async with self.http.post(self.url, json=body, headers=headers) as response:
            return response.status


@pytest.fixture
async def webhook(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Webhook]:
    assert billing.yookassa is not None
    events: list[PaymentEvent] = []

    async def collect(event: PaymentEvent) -> None:
        events.append(event)

    billing.on_payment_event = collect
    settings = billing.settings
    endpoint = YooKassaWebhook(
        billing.yookassa, session_factory, trusted_networks=settings.yookassa_trusted_networks,
        trusted_proxies=settings.yookassa_trusted_proxies, on_event=billing.announce,
    )  # fmt: skip
    app = web.Application()
    app.router.add_post(settings.yookassa_webhook_path, endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    hook = Webhook(f"http://127.0.0.1:{port}{settings.yookassa_webhook_path}", events)
    yield hook
    await hook.http.close()
    await runner.cleanup()
    await billing.yookassa.gateway.aclose()


async def _buy(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession], product: str = "pack_500"
) -> PaymentOrder:
    assert billing.yookassa is not None
    async with session_factory() as session:
        await billing.ensure_account(session, USER)
        await session.commit()
        payment = await billing.yookassa.start(session, USER, product)
        assert payment is not None and payment.confirmation_url
        return payment.order


async def _state(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession]
) -> tuple[int, int]:
    async with session_factory() as session:
        balance = await billing.ledger.balance(session, USER)
        assert balance == await billing.ledger.total(session, USER)
        payments = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.user_id == USER)
        )
        return balance, int(payments or 0)


def test_amounts_are_exact_kopecks() -> None:
    assert kopecks_from("399.00") == 39900 and kopecks_from("0.01") == 1
    assert kopecks_from("1.005") is None and kopecks_from("abc") is None and kopecks_from(None) is None


def test_sender_address_honours_forwarded_for_only_behind_our_proxy() -> None:
    proxies = parse_networks(["10.0.0.0/8"])
    assert str(sender_address("10.1.2.3", "1.1.1.1, 185.71.76.10", proxies)) == "185.71.76.10"
    assert str(sender_address("10.1.2.3", "185.71.76.10, 10.0.0.5", proxies)) == "185.71.76.10"
    assert str(sender_address("8.8.8.8", "185.71.76.10", proxies)) == "8.8.8.8", (
        "a stranger's header is ignored"
    )
    assert str(sender_address("::ffff:185.71.76.10", None, proxies)) == "185.71.76.10"
    assert sender_address("10.1.2.3", "garbage", proxies) is None


async def test_payment_is_created_once_with_a_receipt(
    billing: BillingService,
    session_factory: async_sessionmaker[AsyncSession],
    yookassa: FakeYooKassaServer,
    db_kind: str,
) -> None:
    order = await _buy(billing, session_factory)
    again = await _buy(billing, session_factory)  # a double tap reuses the order and its payment
    assert again.id == order.id and yookassa.create_calls == 1
    body = next(b for method, _, b in yookassa.requests if method == "POST")
    assert body is not None and body["amount"] == {"value": "399.00", "currency": "RUB"}
    assert body["metadata"]["order_id"] == str(order.id) and body["capture"] is True
    item = body["receipt"]["items"][0]
    assert body["receipt"]["customer"] == {"email": "shop@example.com"}
    assert (item["vat_code"], item["payment_subject"], item["payment_mode"]) == (1, "service", "full_payment")


async def test_a_timed_out_create_is_retried_with_the_same_key(
    billing: BillingService,
    session_factory: async_sessionmaker[AsyncSession],
    yookassa: FakeYooKassaServer,
    db_kind: str,
) -> None:
    assert billing.yookassa is not None
    yookassa.hang = True
    async with session_factory() as session:
        await billing.ensure_account(session, USER)
        await session.commit()
        with pytest.raises(YooKassaUnavailable):
            await billing.yookassa.start(session, USER, "pack_100")
    yookassa.release()  # the API carries the first request out after all
    await asyncio.sleep(0.2)
    async with session_factory() as session:
        payment = await billing.yookassa.start(session, USER, "pack_100")
    assert payment is not None and payment.confirmation_url
    assert yookassa.create_calls == 1, "the retry found the payment the first request made"


async def test_hanging_api_times_out_without_freezing_the_loop(
    make_settings, yookassa: FakeYooKassaServer
) -> None:  # type: ignore[no-untyped-def]
    gateway = YooKassaGateway(yookassa.shop_id, yookassa.secret_key, api_url=yookassa.api_url, timeout=0.5)
    yookassa.hang = True
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        with pytest.raises(YooKassaUnavailable):
            await gateway.get_payment("2f2b3c1a-000f-5000-a000-1d2e3f4a5b6c")
    finally:
        ticker.cancel()
        yookassa.release()
        await gateway.aclose()
    assert ticks > 3, "the event loop kept running while the SDK waited"


async def test_webhook_credits_exactly_once_whatever_arrives(
    billing: BillingService,
    session_factory: async_sessionmaker[AsyncSession],
    yookassa: FakeYooKassaServer,
    webhook: Webhook,
    db_kind: str,
) -> None:
    order = await _buy(billing, session_factory)
    payment_id = order.provider_payment_id
    assert payment_id

    # Early and wrong: the body claims success, but YooKassa says it is still pending.
    claim = yookassa.notification(payment_id, "payment.succeeded")
    claim["object"]["status"] = "succeeded"
    assert await webhook.deliver(claim) == 200
    assert await _state(billing, session_factory) == (100, 0)

    yookassa.set_status(payment_id, "succeeded")
    # Forged: right payment, wrong sender (and a client with no proxy in front at all).
    assert await webhook.deliver(yookassa.notification(payment_id), sender="1.2.3.4") == 403
    assert await webhook.deliver(yookassa.notification(payment_id), sender=None) == 403
    assert await _state(billing, session_factory) == (100, 0)

    # The API cannot be asked: 503, so YooKassa delivers again later.
    yookassa.fail_next(1, 500)
    assert await webhook.deliver(yookassa.notification(payment_id)) == 503
    assert await _state(billing, session_factory) == (100, 0)

    # Duplicated (at once and again), reordered (a stale cancel and a stale pending after success).
    results = await asyncio.gather(*(webhook.deliver(yookassa.notification(payment_id)) for _ in range(5)))
    assert results == [200] * 5
    assert await webhook.deliver(yookassa.notification(payment_id, "payment.canceled")) == 200
    assert await webhook.deliver(yookassa.notification(payment_id, "payment.waiting_for_capture")) == 200
    assert await _state(billing, session_factory) == (600, 1)
    credited = [e for e in webhook.events if e.kind == "credited"]
    assert len(credited) == 1 and credited[0].user_id == USER, "the user is told once"

    # Late: long after, the same notification once more.
    assert await webhook.deliver(yookassa.notification(payment_id)) == 200
    assert await _state(billing, session_factory) == (600, 1)

    # Unknown payments and garbage change nothing.
    assert (
        await webhook.deliver(
            {"type": "notification", "event": "payment.succeeded", "object": {"id": "nope"}}
        )
        == 200
    )
    assert await webhook.deliver({"event": "payment.succeeded"}) == 400
    assert (
        await webhook.deliver({"type": "notification", "event": "refund.succeeded", "object": {"id": "r1"}})
        == 200
    )
    assert await _state(billing, session_factory) == (600, 1)


async def test_webhook_refuses_a_payment_that_does_not_match_its_order(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession], yookassa: FakeYooKassaServer,
    webhook: Webhook, db_kind: str,
) -> None:  # fmt: skip
    order = await _buy(billing, session_factory)
    payment_id = order.provider_payment_id
    assert payment_id
    yookassa.set_amount(payment_id, "1.00")
    yookassa.set_status(payment_id, "succeeded")
    assert await webhook.deliver(yookassa.notification(payment_id)) == 200
    assert await _state(billing, session_factory) == (100, 0), "1 ₽ paid is not 399 ₽"
    assert not webhook.events


async def test_canceled_payment_tells_the_user_once(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession], yookassa: FakeYooKassaServer,
    webhook: Webhook, db_kind: str,
) -> None:  # fmt: skip
    order = await _buy(billing, session_factory, "plan_pro")
    payment_id = order.provider_payment_id
    assert payment_id
    yookassa.set_status(payment_id, "canceled")
    for _ in range(3):
        assert await webhook.deliver(yookassa.notification(payment_id)) == 200
    assert [e.kind for e in webhook.events] == ["canceled"]
    async with session_factory() as session:
        stored = await session.get(PaymentOrder, order.id)
        assert stored is not None and stored.status == "canceled"
    assert await _state(billing, session_factory) == (100, 0)


async def test_recheck_settles_what_no_notification_reported(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession], yookassa: FakeYooKassaServer,
    webhook: Webhook, db_kind: str,
) -> None:  # fmt: skip
    paid = await _buy(billing, session_factory, "plan_pro")
    waiting = await _buy(billing, session_factory, "pack_100")
    assert paid.provider_payment_id and waiting.provider_payment_id
    yookassa.set_status(paid.provider_payment_id, "succeeded")
    later = utcnow() + timedelta(minutes=15)
    events = await billing.recheck_pending(later)  # the jobs runner's call: (now) alone
    assert sorted(e.kind for e in events) == ["credited", "pending"]
    async with session_factory() as session:
        again = await billing.recheck_pending(session, later)  # the (session, now) form
        assert [e.kind for e in again] == ["pending"], "the paid order is settled and not re-read"
        summary = await billing.summary(session, USER)
        assert summary.plan == "pro" and summary.balance == 100 + 1500
    assert await _state(billing, session_factory) == (1600, 1)
    # Given up after YOOKASSA_ORDER_TTL_HOURS.
    async with session_factory() as session:
        await billing.recheck_pending(session, utcnow() + timedelta(hours=49))
        stored = await session.get(PaymentOrder, waiting.id, populate_existing=True)
        assert stored is not None and stored.status == "expired"
    assert [e.kind for e in webhook.events] == ["credited"]
