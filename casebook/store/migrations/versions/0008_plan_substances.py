"""plan items: the substances an item contains and why none is listed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 02:00:00.000000

Self-contained: it only adds two columns to plan_items, so it can be re-chained after any
other revision. Existing rows get no substances and no reason; their template's substances
and a match of their name against the substance catalog still give their cautions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "substances",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default="[]",
            )
        )
        batch_op.add_column(
            sa.Column(
                "no_substance_reason", sa.String(length=200), nullable=False, server_default=""
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.drop_column("no_substance_reason")
        batch_op.drop_column("substances")
