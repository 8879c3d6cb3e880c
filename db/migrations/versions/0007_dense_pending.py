"""Books become ready before their dense vectors are in: remember which still wait for them.

Revision ID: 0007_dense_pending
Revises: 0006_admin
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_dense_pending"
down_revision = "0006_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Books indexed before this revision have all their vectors already.
    op.add_column(
        "books", sa.Column("dense_pending", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("books") as batch:
        batch.drop_column("dense_pending")
