"""Admin audit log and bans.

Revision ID: 0006_admin
Revises: 0005_notifications
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision = "0006_admin"
down_revision = "0005_notifications"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "admin_audit_log",
        sa.Column("id", BigIntId, autoincrement=True, nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("target_user_id", sa.BigInteger()),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admin_audit_log"),
    )
    op.create_index(
        "ix_admin_audit_log_target_user_id_created_at", "admin_audit_log", ["target_user_id", "created_at"]
    )
    op.create_index("ix_admin_audit_log_actor_id_created_at", "admin_audit_log", ["actor_id", "created_at"])
    op.create_index("ix_admin_audit_log_created_at", "admin_audit_log", ["created_at"])

    op.create_table(
        "user_bans",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("banned_by", sa.BigInteger()),
        sa.Column("reason", sa.String(255)),
        sa.Column("banned_at", UTCDateTime(), nullable=False),
        sa.Column("notified_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_bans"),
    )


def downgrade() -> None:
    op.drop_table("user_bans")
    op.drop_index("ix_admin_audit_log_created_at", table_name="admin_audit_log")
    op.drop_index("ix_admin_audit_log_actor_id_created_at", table_name="admin_audit_log")
    op.drop_index("ix_admin_audit_log_target_user_id_created_at", table_name="admin_audit_log")
    op.drop_table("admin_audit_log")
