"""flag reviews: the steps of each red flag's lifecycle (acknowledged, referred, resolved)

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02 09:00:00

One new child table, `flag_reviews`; nothing else changes. A step is appended, never
edited: the open/re-opened state is derived (casebook.clinical.flag_lifecycle), not stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flag_reviews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rule_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("referred_to", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evidence_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_flag_reviews_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_reviews")),
    )
    with op.batch_alter_table("flag_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_flag_reviews_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("flag_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_reviews_patient_id"))
    op.drop_table("flag_reviews")
