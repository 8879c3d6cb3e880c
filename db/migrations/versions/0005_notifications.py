"""Notifications, job runs, events and broadcasts.

Revision ID: 0005_notifications
Revises: 0004_billing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision = "0005_notifications"
down_revision = "0004_billing"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("period", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="running"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_job_runs"),
        sa.UniqueConstraint("job", "period", name="uq_job_runs_job_period"),
    )
    op.create_index("ix_job_runs_started_at", "job_runs", ["started_at"])

    op.create_table(
        "deliveries",
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("campaign", sa.String(96), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("error", sa.String(255)),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("campaign", "user_id", name="uq_deliveries_campaign_user_id"),
    )
    op.create_index("ix_deliveries_campaign_status", "deliveries", ["campaign", "status"])
    op.create_index("ix_deliveries_user_id_created_at", "deliveries", ["user_id", "created_at"])

    op.create_table(
        "broadcasts",
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("created_by", sa.BigInteger()),
        sa.Column("text", sa.Text()),
        sa.Column("photo_file_id", sa.String(255)),
        sa.Column("button_text", sa.String(64)),
        sa.Column("button_url", sa.String(512)),
        sa.Column("audience", sa.String(16), nullable=False, server_default="all"),
        sa.Column("audience_value", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime()),
        sa.Column("finished_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
    )
    op.create_index("ix_broadcasts_status", "broadcasts", ["status"])

    op.create_table(
        "events",
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger()),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_kind_created_at", "events", ["kind", "created_at"])
    op.create_index("ix_events_user_id_created_at", "events", ["user_id", "created_at"])
    op.create_index("ix_events_created_at", "events", ["created_at"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("broadcasts")
    op.drop_table("deliveries")
    op.drop_table("job_runs")
