"""Orders and payments, whichever the provider: an order is what a user set out to buy; a payment is money
received for it. Credits and plans are granted only here, exactly once per provider charge:
the `payments` row is unique per (provider, charge id) and the ledger key repeats it.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models.billing import Payment, PaymentOrder
from services.billing.plans import PLAN_DAYS, RUB, STARS, Product
from services.billing.service import BillingService
from services.billing.sql import insert_ignoring_conflicts
from services.observability import metrics

logger = logging.getLogger(__name__)

Provider = Literal["stars", "yookassa"]


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """What a payment did: `credited` (now), `duplicate` (this charge was credited before: nothing
    changed) or `rejected` (it does not match its order; nothing granted, logged for a human)."""

    status: Literal["credited", "duplicate", "rejected"]
    order: PaymentOrder
    credits: int = 0
    plan: str | None = None
    plan_expires_at: datetime | None = None
    balance: int = 0
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    """A refund recorded: credits taken back (never below zero) and whether a plan ended with it.
    `status` is `refunded`, `duplicate` (recorded before) or `unknown` (no such payment)."""

    status: Literal["refunded", "duplicate", "unknown"]
    user_id: int | None = None
    credits_taken: int = 0
    credits_owed: int = 0
    plan_ended: bool = False
    amount: int = 0
    currency: str = ""
    #: The refund was recorded (and its owner told) by Telegram's refunded_payment update, not this call.
    recorded_by_echo: bool = False


class OrderBook:
    """Creates orders and settles them; see the module docstring."""

    def __init__(self, billing: BillingService) -> None:
        self.billing = billing

    async def create(
        self,
        session: AsyncSession,
        user_id: int,
        product: Product,
        provider: Provider,
        *,
        subscription: bool = False,
        now: datetime | None = None,
    ) -> PaymentOrder:
        """A pending order for `product`, priced now (a later price change does not touch it)."""
        now = now or utcnow()
        order = PaymentOrder(
            user_id=user_id,
            product=product.code,
            provider=provider,
            currency=STARS if provider == "stars" else RUB,
            amount=product.stars if provider == "stars" else product.kopecks,
            credits=product.credits,
            plan=product.plan,
            is_subscription=subscription,
            status="pending",
            payload=secrets.token_urlsafe(18),
            created_at=now,
            updated_at=now,
        )
        session.add(order)
        await session.flush()
        return order

    async def by_payload(self, session: AsyncSession, payload: str) -> PaymentOrder | None:
        return await session.scalar(select(PaymentOrder).where(PaymentOrder.payload == payload))

    async def fulfil(
        self,
        session: AsyncSession,
        order: PaymentOrder,
        *,
        charge_id: str,
        amount: int,
        currency: str,
        provider_charge_id: str | None = None,
        is_recurring: bool = False,
        plan_expires_at: datetime | None = None,
        subscription_charge_id: str | None = None,
        now: datetime | None = None,
    ) -> Fulfilment:
        """Grant what `order` bought for the charge `charge_id`, exactly once per charge. In the caller's
        transaction (commit it). A subscription's renewals are more charges of the same order."""
        now = now or utcnow()
        if currency != order.currency or amount < order.amount:
            logger.error(
                "payment %s for order %s does not match it: %s %s, expected %s %s",
                charge_id, order.id, amount, currency, order.amount, order.currency,
            )  # fmt: skip
            metrics.observe_payment(order.provider, "rejected")
            return Fulfilment("rejected", order, reason="amount_mismatch")
        inserted = await session.execute(
            insert_ignoring_conflicts(
                session,
                Payment,
                {
                    "order_id": order.id,
                    "user_id": order.user_id,
                    "provider": order.provider,
                    "charge_id": charge_id,
                    "provider_charge_id": provider_charge_id,
                    "currency": currency,
                    "amount": amount,
                    "credits": order.credits,
                    "plan": order.plan,
                    "is_recurring": is_recurring,
                    "subscription_expires_at": plan_expires_at,
                    "status": "paid",
                    "credits_taken_back": 0,
                    "created_at": now,
                },
                conflict_columns=["provider", "charge_id"],
            ).returning(Payment.id)
        )
        if inserted.first() is None:
            metrics.observe_payment(order.provider, "duplicate")
            balance = await self.billing.ledger.balance(session, order.user_id)
            return Fulfilment("duplicate", order, order.credits, order.plan, None, balance)
        await session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.id == order.id, PaymentOrder.status != "paid")
            .values(status="paid", paid_at=now, updated_at=now),
            execution_options={"synchronize_session": False},
        )
        key = f"pay:{order.provider}:{charge_id}"
        ref = f"order:{order.id}"
        expires: datetime | None = None
        if order.plan:
            expires = await self.billing.activate_plan(
                session,
                order.user_id,
                order.plan,
                expires_at=plan_expires_at,
                credits=order.credits,
                idempotency_key=key,
                ref=ref,
                subscription_charge_id=subscription_charge_id,
                now=now,
            )
        elif order.credits > 0:
            await self.billing.ensure_account(session, order.user_id, now)
            await self.billing.ledger.grant(
                session, order.user_id, order.credits, "purchase", ref, key, add_to_period=True, now=now
            )
        await session.refresh(order)
        balance = await self.billing.ledger.balance(session, order.user_id)
        metrics.observe_payment(order.provider, "credited", amount, currency)
        return Fulfilment("credited", order, order.credits, order.plan, expires, balance)

    async def record_refund(
        self, session: AsyncSession, provider: Provider, charge_id: str, *, now: datetime | None = None
    ) -> RefundOutcome:
        """The money of charge `charge_id` went back to the user: take its credits back (what is there;
        the balance never goes below zero) and take back the time it paid for: the plan ends, unless
        another payment for it (the first month, when a renewal is refunded) still covers the user, and
        then it runs until that one's end. Idempotent; does not commit."""
        now = now or utcnow()
        payment = await session.scalar(
            select(Payment).where(Payment.provider == provider, Payment.charge_id == charge_id)
        )
        if payment is None:
            return RefundOutcome("unknown")
        claimed = await session.execute(
            update(Payment)
            .where(Payment.id == payment.id, Payment.status == "paid")
            .values(status="refunded", refunded_at=now),
            execution_options={"synchronize_session": False},
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return RefundOutcome(
                "duplicate", payment.user_id, payment.credits_taken_back, payment.credits, False, payment.amount,
                payment.currency,
            )  # fmt: skip
        taken = 0
        if payment.credits > 0:
            result = await self.billing.ledger.take(
                session, payment.user_id, payment.credits, "refund", f"payment:{payment.id}",
                f"refund:{provider}:{charge_id}", now=now,
            )  # fmt: skip
            taken = -result.amount
        plan_ended = False
        if payment.plan:
            account = await self.billing.ensure_account(session, payment.user_id, now)
            if account.plan == payment.plan:
                covered = await self._covered_until(session, payment, now)
                if covered is None:
                    await self.billing.end_plan(session, payment.user_id, now)
                    plan_ended = True
                elif account.plan_expires_at is None or covered < account.plan_expires_at:
                    await self.billing.shorten_plan(session, payment.user_id, covered)
        await session.execute(
            update(Payment).where(Payment.id == payment.id).values(credits_taken_back=taken),
            execution_options={"synchronize_session": False},
        )
        await session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.id == payment.order_id, PaymentOrder.is_subscription.is_(False))
            .values(status="refunded", updated_at=now),
            execution_options={"synchronize_session": False},
        )
        if taken < payment.credits:
            logger.warning(
                "refund of %s %s: took back %d of %d credits (the rest was spent)",
                provider,
                charge_id,
                taken,
                payment.credits,
            )
        metrics.observe_payment(provider, "refunded")
        return RefundOutcome(
            "refunded", payment.user_id, taken, payment.credits, plan_ended, payment.amount, payment.currency
        )

    @staticmethod
    async def _covered_until(session: AsyncSession, refunded: Payment, now: datetime) -> datetime | None:
        """How long the user's other paid payments for the refunded payment's plan still cover them
        (None: not beyond now). A subscription payment says when its period ends; a single month runs
        PLAN_DAYS from its payment."""
        rows = await session.execute(
            select(Payment.subscription_expires_at, Payment.created_at).where(
                Payment.user_id == refunded.user_id,
                Payment.plan == refunded.plan,
                Payment.status == "paid",
                Payment.id != refunded.id,
            )
        )
        ends = [expires or paid + timedelta(days=PLAN_DAYS) for expires, paid in rows.all()]
        latest = max(ends, default=None)
        return latest if latest is not None and latest > now else None
