"""access sessions: the dashboard cookie names a server-side session, not the link's token

Revision ID: 0007
Revises: 0002
Create Date: 2026-12-01 09:00:00

Each session row keeps only the SHA-256 hash of its id and the link it was opened from;
it ends when that link expires or is revoked (revoking deletes its sessions).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_hash"],
            ["access_tokens.token_hash"],
            name=op.f("fk_access_sessions_token_hash_access_tokens"),
        ),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_access_sessions")),
    )
    with op.batch_alter_table("access_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_sessions_token_hash"), ["token_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("access_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_sessions_token_hash"))
    op.drop_table("access_sessions")
