"""Telegram Stars: orders for invoices, the pre-checkout check, successful payments, subscriptions, refunds.

The adapter between Telegram's payment updates and the order book. Invoices are in XTR with an empty
provider token and exactly one price; plans are monthly Star subscriptions (an invoice link with
subscription_period = 30 days). Credits are granted only on successful_payment, once per
telegram_payment_charge_id, and an invoice is approved at pre-checkout once at a time, so the same invoice
paid twice at once is charged once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models.billing import CreditAccount, Payment, PaymentOrder
from services.billing.orders import Fulfilment, OrderBook, RefundOutcome
from services.billing.plans import STARS, SUBSCRIPTION_PERIOD_SECONDS, Product
from services.billing.service import BillingService

logger = logging.getLogger(__name__)

MAX_SUBSCRIPTION_STARS = 10_000
# How long an approved pre-checkout holds its order: another payment of the same invoice meanwhile is
# declined. Telegram sends successful_payment within seconds of the approval; when it never comes (the
# user backed out, or Telegram could not charge them) the invoice can be paid again once this has passed.
PRE_CHECKOUT_HOLD = timedelta(minutes=10)


class StarsBot(Protocol):
    """The Bot API calls this module makes (aiogram's Bot has them)."""

    async def refund_star_payment(self, user_id: int, telegram_payment_charge_id: str) -> bool: ...

    async def edit_user_star_subscription(
        self, user_id: int, telegram_payment_charge_id: str, is_canceled: bool
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class StarsOrder:
    """An order ready for an invoice: send it with sendInvoice, or as a link when `subscription`."""

    order: PaymentOrder
    product: Product
    subscription: bool

    @property
    def subscription_period(self) -> int | None:
        return SUBSCRIPTION_PERIOD_SECONDS if self.subscription else None


@dataclass(frozen=True, slots=True)
class StarsCharge:
    """The fields of a successful_payment that matter here."""

    telegram_payment_charge_id: str
    invoice_payload: str
    currency: str
    total_amount: int
    provider_payment_charge_id: str | None = None
    subscription_expiration_date: int | None = None
    is_recurring: bool = False
    is_first_recurring: bool = False


class StarsPayments:
    def __init__(self, billing: BillingService, orders: OrderBook) -> None:
        self.billing = billing
        self.orders = orders

    async def create_order(
        self, session: AsyncSession, user_id: int, product_code: str, now: datetime | None = None
    ) -> StarsOrder | None:
        """A pending Stars order for the product (None if there is no such product). Plans are monthly
        subscriptions. Does not commit."""
        product = self.billing.catalog.product(product_code)
        if product is None or product.stars <= 0:
            return None
        subscription = product.is_plan and product.stars <= MAX_SUBSCRIPTION_STARS
        order = await self.orders.create(
            session, user_id, product, "stars", subscription=subscription, now=now
        )
        return StarsOrder(order, product, subscription)

    async def approve_pre_checkout(
        self,
        session: AsyncSession,
        user_id: int,
        payload: str,
        currency: str,
        total_amount: int,
        now: datetime | None = None,
    ) -> str | None:
        """None when the payment may go ahead, else why not: `unknown_order`, `wrong_amount`, `paid`
        (already paid), `canceled`, `in_progress` (another payment of this invoice was approved within
        PRE_CHECKOUT_HOLD). Approving claims the order with one conditional UPDATE, so of many
        pre-checkouts at once exactly one is approved. Commits; a few quick queries, well within
        Telegram's 10 seconds."""
        now = now or utcnow()
        order = await self.orders.by_payload(session, payload)
        if order is None or order.provider != "stars" or order.user_id != user_id:
            return "unknown_order"
        if currency != STARS or total_amount != order.amount:
            return "wrong_amount"
        if order.status == "paid" or order.status == "refunded":
            return "paid"
        if order.status != "pending":
            return "canceled"
        claimed = await session.execute(
            update(PaymentOrder)
            .where(
                PaymentOrder.id == order.id,
                PaymentOrder.status == "pending",
                or_(PaymentOrder.checked_at.is_(None), PaymentOrder.checked_at <= now - PRE_CHECKOUT_HOLD),
            )
            .values(checked_at=now, updated_at=now),
            execution_options={"synchronize_session": False},
        )
        await session.commit()
        return None if claimed.rowcount else "in_progress"  # type: ignore[attr-defined]

    async def complete(
        self, session: AsyncSession, user_id: int, charge: StarsCharge, now: datetime | None = None
    ) -> Fulfilment | None:
        """Settle a successful_payment (first payment or subscription renewal) and commit. None when
        the payload names no order of this user (logged: the money arrived for nothing we know)."""
        now = now or utcnow()
        order = await self.orders.by_payload(session, charge.invoice_payload)
        if order is None or order.provider != "stars" or order.user_id != user_id:
            logger.error(
                "successful_payment %s from user %s names no order of theirs (payload %r)",
                charge.telegram_payment_charge_id, user_id, charge.invoice_payload,
            )  # fmt: skip
            return None
        expires = None
        if charge.subscription_expiration_date:
            expires = datetime.fromtimestamp(charge.subscription_expiration_date, UTC)
        subscription_id = None
        if order.is_subscription:
            subscription_id = await self._subscription_id(session, order, charge)
        result = await self.orders.fulfil(
            session,
            order,
            charge_id=charge.telegram_payment_charge_id,
            amount=charge.total_amount,
            currency=charge.currency,
            provider_charge_id=charge.provider_payment_charge_id,
            is_recurring=charge.is_recurring and not charge.is_first_recurring,
            plan_expires_at=expires,
            subscription_charge_id=subscription_id,
            now=now,
        )
        await session.commit()
        return result

    async def _subscription_id(self, session: AsyncSession, order: PaymentOrder, charge: StarsCharge) -> str:
        """The charge id that names the subscription: its first payment's."""
        first = await session.scalar(
            select(Payment.charge_id).where(Payment.order_id == order.id).order_by(Payment.id).limit(1)
        )
        return first or charge.telegram_payment_charge_id

    async def refund(
        self, session: AsyncSession, bot: StarsBot, charge_id: str, now: datetime | None = None
    ) -> RefundOutcome:
        """Give the Stars of a payment back (refundStarPayment), take its credits back, end its plan, and
        commit. Safe to repeat: a charge already refunded is only recorded."""
        payment = await session.scalar(
            select(Payment).where(Payment.provider == "stars", Payment.charge_id == charge_id)
        )
        if payment is None:
            return RefundOutcome("unknown")
        refunded_here = False
        if payment.status == "paid":
            from aiogram.exceptions import TelegramBadRequest

            try:
                await bot.refund_star_payment(payment.user_id, charge_id)
                refunded_here = True
            except TelegramBadRequest as error:
                if "ALREADY_REFUNDED" not in str(error).upper():
                    raise
        if payment.plan:
            await self._cancel_subscription_quietly(session, bot, payment.user_id)
        outcome = await self.orders.record_refund(session, "stars", charge_id, now=now)
        await session.commit()
        if outcome.status == "duplicate" and refunded_here:
            # Telegram's refunded_payment echo of this very refund was recorded first by its own update.
            await session.refresh(payment)
            outcome = replace(
                outcome, status="refunded", credits_taken=payment.credits_taken_back, recorded_by_echo=True
            )
        return outcome

    async def record_refund(
        self, session: AsyncSession, charge_id: str, now: datetime | None = None
    ) -> RefundOutcome:
        """A refunded_payment arrived (Telegram refunded, or our own refund echoed): record it, commit."""
        outcome = await self.orders.record_refund(session, "stars", charge_id, now=now)
        await session.commit()
        return outcome

    async def set_subscription_canceled(
        self, session: AsyncSession, bot: StarsBot, user_id: int, canceled: bool
    ) -> bool:
        """Cancel (or re-enable) the user's Star subscription; the plan runs to its paid end either way.
        False when there is no subscription to change. Commits."""
        account = await session.get(CreditAccount, user_id)
        if account is None or account.subscription_charge_id is None:
            return False
        from aiogram.exceptions import TelegramBadRequest

        try:
            await bot.edit_user_star_subscription(user_id, account.subscription_charge_id, canceled)
        except TelegramBadRequest as error:
            if "NOT_MODIFIED" not in str(error).upper():
                raise
        await session.execute(
            update(CreditAccount)
            .where(CreditAccount.user_id == user_id)
            .values(subscription_canceled=canceled),
            execution_options={"synchronize_session": False},
        )
        self.billing.ledger.forget_cached(session, user_id)
        await session.commit()
        return True

    async def _cancel_subscription_quietly(self, session: AsyncSession, bot: StarsBot, user_id: int) -> None:
        account = await session.get(CreditAccount, user_id)
        if account is None or account.subscription_charge_id is None or account.subscription_canceled:
            return
        try:
            await bot.edit_user_star_subscription(user_id, account.subscription_charge_id, True)
        except Exception:
            logger.exception("could not cancel the Star subscription of user %s", user_id)
            return
        # A plan that a refund leaves running (an earlier month still covers it) won't renew.
        await session.execute(
            update(CreditAccount).where(CreditAccount.user_id == user_id).values(subscription_canceled=True),
            execution_options={"synchronize_session": False},
        )
        self.billing.ledger.forget_cached(session, user_id)
