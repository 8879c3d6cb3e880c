"""Credits ledger, plans, orders and payments.

Revision ID: 0004_billing
Revises: 0003_chat
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_billing"
down_revision = "0003_chat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
