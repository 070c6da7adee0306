"""plan items: patient-facing name and confirmed cautions

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000

Self-contained: it only adds two columns to plan_items, so it can be re-chained after any
other revision. Existing rows get an empty patient name (the item's name is shown) and no
confirmations.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("patient_name", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "caution_confirmations",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default="[]",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.drop_column("caution_confirmations")
        batch_op.drop_column("patient_name")
