"""audit hardening: no REPLACE or TRUNCATE of the audit log, and a hash chain

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 09:00:00

SQLite: `INSERT OR REPLACE` / `REPLACE INTO` with an existing id deleted the old row
without firing the DELETE trigger; a BEFORE INSERT trigger now refuses an existing id.
PostgreSQL: row triggers do not fire on TRUNCATE; a statement-level BEFORE TRUNCATE
trigger now refuses it. Every row gets a `chain` hash (casebook.store.audit_chain), backfilled
here in id order.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from casebook.store.audit_chain import GENESIS, chain_hash
from casebook.store.tables import JSON, Stamp

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE_NO_REPLACE = """CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
    WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"""
_SQLITE_NO_UPDATE = """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"""
_PG_NO_TRUNCATE = """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION casebook_audit_append_only()"""

_audit = sa.table(
    "audit_log",
    sa.column("id", sa.BigInteger),
    sa.column("at", Stamp),
    sa.column("actor", sa.String),
    sa.column("patient_id", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("action", sa.String),
    sa.column("before", JSON),
    sa.column("after", JSON),
    sa.column("chain", sa.String),
)


def _backfill() -> None:
    conn = op.get_bind()
    previous, updates = GENESIS, []
    for row in conn.execute(sa.select(_audit).order_by(_audit.c.id)):
        previous = chain_hash(previous, dict(row._mapping))
        updates.append({"rid": row.id, "chain": previous})
    if updates:
        conn.execute(
            sa.update(_audit)
            .where(_audit.c.id == sa.bindparam("rid"))
            .values(chain=sa.bindparam("chain")),
            updates,
        )


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("chain", sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        _backfill()
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        op.execute(_PG_NO_TRUNCATE)
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        _backfill()
        op.execute(_SQLITE_NO_UPDATE)
        op.execute(_SQLITE_NO_REPLACE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        op.drop_column("audit_log", "chain")
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")
        op.execute("ALTER TABLE audit_log DROP COLUMN chain")
