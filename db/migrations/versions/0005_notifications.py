"""Notifications, job runs, events and broadcasts.

Revision ID: 0005_notifications
Revises: 0004_billing
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_notifications"
down_revision = "0004_billing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
