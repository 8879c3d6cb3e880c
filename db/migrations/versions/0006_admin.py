"""Admin audit log.

Revision ID: 0006_admin
Revises: 0005_notifications
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006_admin"
down_revision = "0005_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
