"""results reviewed: when and by whom a practitioner marked a test result reviewed

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-08 09:00:00

Two nullable columns on test_results; existing results start as not reviewed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from casebook.store.tables import Stamp

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("test_results", sa.Column("reviewed_at", Stamp, nullable=True))
    op.add_column("test_results", sa.Column("reviewed_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    for column in ("reviewed_by", "reviewed_at"):  # SQLite 3.35+ drops a column in place
        op.execute(f"ALTER TABLE test_results DROP COLUMN {column}")
