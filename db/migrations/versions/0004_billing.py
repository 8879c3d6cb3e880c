"""Credits ledger, plans, orders and payments.

Revision ID: 0004_billing
Revises: 0003_chat
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision = "0004_billing"
down_revision = "0003_chat"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "credit_accounts",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("plan", sa.String(16), nullable=False, server_default="free"),
        sa.Column("plan_expires_at", UTCDateTime()),
        sa.Column("trial_used", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("trial_ends_at", UTCDateTime()),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("period_credits", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("period_used", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("warned_80", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("day", sa.String(10)),
        sa.Column("day_questions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("subscription_charge_id", sa.String(128)),
        sa.Column("subscription_canceled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_credit_accounts"),
        sa.CheckConstraint("balance >= 0", name="ck_credit_accounts_balance_not_negative"),
    )
    op.create_index("ix_credit_accounts_plan", "credit_accounts", ["plan"])
    op.create_index("ix_credit_accounts_plan_expires_at", "credit_accounts", ["plan_expires_at"])
    op.create_index("ix_credit_accounts_trial_ends_at", "credit_accounts", ["trial_ends_at"])
    op.create_index("ix_credit_accounts_period_end", "credit_accounts", ["period_end"])

    op.create_table(
        "credit_ledger",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(128)),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(191), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_credit_ledger"),
        sa.UniqueConstraint("idempotency_key", name="uq_credit_ledger_idempotency_key"),
    )
    op.create_index("ix_credit_ledger_user_id_created_at", "credit_ledger", ["user_id", "created_at"])

    op.create_table(
        "payment_orders",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("product", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("plan", sa.String(16)),
        sa.Column("is_subscription", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("payload", sa.String(64), nullable=False),
        sa.Column("provider_payment_id", sa.String(64)),
        sa.Column("idempotence_key", sa.String(64)),
        sa.Column("confirmation_url", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("paid_at", UTCDateTime()),
        sa.Column("checked_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_payment_orders"),
        sa.UniqueConstraint("payload", name="uq_payment_orders_payload"),
        sa.UniqueConstraint("provider_payment_id", name="uq_payment_orders_provider_payment_id"),
    )
    op.create_index("ix_payment_orders_status", "payment_orders", ["status"])
    op.create_index("ix_payment_orders_user_id_created_at", "payment_orders", ["user_id", "created_at"])

    op.create_table(
        "payments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("charge_id", sa.String(128), nullable=False),
        sa.Column("provider_charge_id", sa.String(128)),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("plan", sa.String(16)),
        sa.Column("is_recurring", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("subscription_expires_at", UTCDateTime()),
        sa.Column("status", sa.String(16), nullable=False, server_default="paid"),
        sa.Column("credits_taken_back", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("refunded_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_orders.id"],
            name="fk_payments_order_id_payment_orders",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("provider", "charge_id", name="uq_payments_provider_charge_id"),
    )
    op.create_index("ix_payments_order_id", "payments", ["order_id"])
    op.create_index("ix_payments_user_id_created_at", "payments", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_payments_user_id_created_at", table_name="payments")
    op.drop_index("ix_payments_order_id", table_name="payments")
    op.drop_table("payments")
    op.drop_index("ix_payment_orders_user_id_created_at", table_name="payment_orders")
    op.drop_index("ix_payment_orders_status", table_name="payment_orders")
    op.drop_table("payment_orders")
    op.drop_index("ix_credit_ledger_user_id_created_at", table_name="credit_ledger")
    op.drop_table("credit_ledger")
    op.drop_index("ix_credit_accounts_period_end", table_name="credit_accounts")
    op.drop_index("ix_credit_accounts_trial_ends_at", table_name="credit_accounts")
    op.drop_index("ix_credit_accounts_plan_expires_at", table_name="credit_accounts")
    op.drop_index("ix_credit_accounts_plan", table_name="credit_accounts")
    op.drop_table("credit_accounts")
