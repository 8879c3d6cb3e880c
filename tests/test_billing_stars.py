"""Stars pre-checkouts on SQLite and PostgreSQL: an invoice paid several times at once is approved once;
an approval whose payment never came stops holding the invoice after a while."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import User
from services.billing.factory import build_billing
from services.billing.service import BillingService
from services.billing.stars import PRE_CHECKOUT_HOLD, StarsCharge, StarsOrder, StarsPayments

USER = 4242
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def billing(make_settings) -> BillingService:  # type: ignore[no-untyped-def]
    return build_billing(make_settings(billing_packs=["100:50:9900"]))


def _stars(billing: BillingService) -> StarsPayments:
    assert billing.stars is not None
    return billing.stars


async def _order(billing: BillingService, session_factory: async_sessionmaker[AsyncSession]) -> StarsOrder:
    async with session_factory() as session:
        session.add(User(id=USER, first_name="Payer", language="en", settings={}))
        await session.flush()
        order = await _stars(billing).create_order(session, USER, "pack_100", now=NOW)
        assert order is not None
        await session.commit()
        return order


async def test_five_pre_checkouts_at_once_approve_one(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession], db_kind: str
) -> None:
    order = await _order(billing, session_factory)
    stars = _stars(billing)

    async def pre_checkout() -> str | None:
        async with session_factory() as session:
            return await stars.approve_pre_checkout(session, USER, order.order.payload, "XTR", 50, now=NOW)

    answers = await asyncio.gather(*(pre_checkout() for _ in range(5)))
    assert answers.count(None) == 1, f"{db_kind}: {answers}"
    assert answers.count("in_progress") == 4, answers

    # The approved payment arrives: credited once, and the invoice can't be paid again.
    async with session_factory() as session:
        charge = StarsCharge("charge-1", order.order.payload, "XTR", 50)
        paid = await stars.complete(session, USER, charge, now=NOW)
        assert paid is not None and paid.status == "credited" and paid.credits == 100
    async with session_factory() as session:
        later = NOW + 2 * PRE_CHECKOUT_HOLD
        again = await stars.approve_pre_checkout(session, USER, order.order.payload, "XTR", 50, now=later)
        assert again == "paid"


async def test_an_approval_without_a_payment_holds_the_invoice_for_a_while(
    billing: BillingService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    order = await _order(billing, session_factory)
    stars = _stars(billing)
    payload = order.order.payload

    async def pre_checkout(at: datetime, user_id: int = USER, amount: int = 50) -> str | None:
        async with session_factory() as session:
            return await stars.approve_pre_checkout(session, user_id, payload, "XTR", amount, now=at)

    assert await pre_checkout(NOW, amount=49) == "wrong_amount"
    assert await pre_checkout(NOW, user_id=USER + 1) == "unknown_order"
    assert await pre_checkout(NOW) is None  # the refused ones above held nothing
    # Telegram's successful_payment never came: the invoice is held, then free again.
    assert await pre_checkout(NOW + PRE_CHECKOUT_HOLD / 2) == "in_progress"
    assert await pre_checkout(NOW + PRE_CHECKOUT_HOLD) is None
    assert await pre_checkout(NOW + PRE_CHECKOUT_HOLD * 1.5) == "in_progress"
