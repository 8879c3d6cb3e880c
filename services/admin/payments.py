"""Payments as admins see them, and Stars refunds through billing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Payment
from services.admin.actor import Actor, AdminError
from services.admin.audit import AuditAction, AuditLog
from services.admin.deps import Dependencies
from services.billing.orders import RefundOutcome


class PaymentAdmin:
    def __init__(self, deps: Dependencies, audit: AuditLog) -> None:
        self.deps = deps
        self.audit = audit

    async def recent(
        self, session: AsyncSession, *, offset: int = 0, limit: int = 8
    ) -> tuple[list[Payment], int]:
        rows = await session.scalars(
            select(Payment).order_by(Payment.created_at.desc(), Payment.id.desc()).offset(offset).limit(limit)
        )
        total = int(await session.scalar(select(func.count(Payment.id))) or 0)
        return list(rows.all()), total

    async def get(self, session: AsyncSession, payment_id: int) -> Payment | None:
        return await session.get(Payment, payment_id, populate_existing=True)

    @staticmethod
    def refundable(payment: Payment) -> bool:
        """Stars payments can be refunded from the bot (refundStarPayment); card payments in YooKassa's
        dashboard."""
        return payment.provider == "stars" and payment.status == "paid"

    async def refund(self, session: AsyncSession, bot: Any, actor: Actor, payment_id: int) -> RefundOutcome:
        """Refund a Stars payment: the Stars go back, its credits are taken back, its plan ends. The audit
        entry is committed with billing's record of the refund (billing commits)."""
        payment = await self.get(session, payment_id)
        if payment is None:
            raise AdminError("not_found")
        if not self.refundable(payment):
            raise AdminError("not_refundable")
        await self.audit.record(
            session, actor.id, AuditAction.PAYMENT_REFUND, payment.user_id,
            payment_id=payment.id, charge_id=payment.charge_id, amount=payment.amount, currency=payment.currency,
        )  # fmt: skip
        outcome = await self.deps.stars().refund(session, bot, payment.charge_id)
        await session.commit()
        return outcome
