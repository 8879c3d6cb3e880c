"""Conversations, answers and LLM usage.

Revision ID: 0003_chat
Revises: 0002_books
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_chat"
down_revision = "0002_books"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
