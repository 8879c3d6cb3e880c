"""Billing: credit accounts, the credit ledger, payment orders and the payments that settle them.

Every change of a balance is a `LedgerEntry` written in the same transaction as the change; the sum of a
user's entries equals the balance. Money is integers: credits, Stars, kopecks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, BigIntId, UTCDateTime, utcnow


class CreditAccount(Base):
    """One row per user: the balance, the plan and this period's use."""

    __tablename__ = "credit_accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[str] = mapped_column(String(16), default="free", index=True)
    plan_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    trial_used: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set while the plan is a trial; cleared when the trial ends or a paid plan replaces it.
    trial_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    period_credits: Mapped[int] = mapped_column(Integer, default=0)
    period_used: Mapped[int] = mapped_column(Integer, default=0)
    warned_80: Mapped[bool] = mapped_column(Boolean, default=False)
    day: Mapped[str | None] = mapped_column(String(10))  # UTC date the question count is for
    day_questions: Mapped[int] = mapped_column(Integer, default=0)
    # The first charge of the Star subscription behind the plan (editUserStarSubscription names it).
    subscription_charge_id: Mapped[str | None] = mapped_column(String(128))
    subscription_canceled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LedgerEntry(Base):
    """One change of one balance; `idempotency_key` makes a repeated request change nothing."""

    __tablename__ = "credit_ledger"
    __table_args__ = (Index("ix_credit_ledger_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(Integer)  # positive: granted; negative: charged
    reason: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(128))
    balance_after: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(191), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PaymentOrder(Base):
    """Something a user set out to buy: a credit pack or a plan, by Stars or by card."""

    __tablename__ = "payment_orders"
    __table_args__ = (Index("ix_payment_orders_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    product: Mapped[str] = mapped_column(String(32))  # "pack_500", "plan_pro", ...
    provider: Mapped[str] = mapped_column(String(16))  # "stars" | "yookassa"
    currency: Mapped[str] = mapped_column(String(3))  # "XTR" | "RUB"
    amount: Mapped[int] = mapped_column(Integer)  # Stars, or kopecks
    credits: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[str | None] = mapped_column(String(16))
    is_subscription: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # The invoice payload (Stars) or the metadata tag (YooKassa) that names this order.
    payload: Mapped[str] = mapped_column(String(64), unique=True)
    provider_payment_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Sent as Idempotence-Key with every attempt to create the provider's payment for this order.
    idempotence_key: Mapped[str | None] = mapped_column(String(64))
    confirmation_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # YooKassa: when its payment was last looked up. Stars: when a pre-checkout was last approved (the
    # order is held for the payment that follows; see services/billing/stars.py).
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Payment(Base):
    """Money received: one row per provider charge, so a charge is never credited twice."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "charge_id", name="uq_payments_provider_charge_id"),
        Index("ix_payments_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("payment_orders.id", ondelete="CASCADE"),
        index=True,
    )
    user_id: Mapped[int] = mapped_column(BigInteger)
    provider: Mapped[str] = mapped_column(String(16))
    charge_id: Mapped[str] = mapped_column(String(128))  # telegram_payment_charge_id or YooKassa payment id
    provider_charge_id: Mapped[str | None] = mapped_column(String(128))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(Integer)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[str | None] = mapped_column(String(16))
    is_recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    subscription_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="paid")  # paid | refunded
    credits_taken_back: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
