"""check-ins: questionnaires a patient fills in through their link before a visit

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-07 01:30:00

One row per check-in: the link it was sent with (its token hash), the instruments asked,
the expiry, the status (sent, submitted, accepted, reviewed), the answers as saved or
submitted, and the check-in visit its answers were recorded on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "checkins",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("instruments", _JSON, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("created_at", _STAMP, nullable=False),
        sa.Column("expires_at", _STAMP, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answers", _JSON, nullable=False),
        sa.Column("free_text", sa.Text(), nullable=False),
        sa.Column("saved_at", _STAMP, nullable=True),
        sa.Column("submitted_at", _STAMP, nullable=True),
        sa.Column("visit_id", sa.String(length=32), nullable=True),
        sa.Column("accepted_into", sa.String(length=32), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reviewed_at", _STAMP, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_checkins_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["token_hash"],
            ["access_tokens.token_hash"],
            name=op.f("fk_checkins_token_hash_access_tokens"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
    )
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkins_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkins_token_hash"), ["token_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkins_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkins_status"))
        batch_op.drop_index(batch_op.f("ix_checkins_token_hash"))
        batch_op.drop_index(batch_op.f("ix_checkins_patient_id"))
    op.drop_table("checkins")
