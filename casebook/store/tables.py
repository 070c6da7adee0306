"""Table definitions (SQLAlchemy Core). The Alembic migrations create exactly these;
`tests/store/test_migrations.py` checks that the two never drift apart."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = [
    "CHILD_TABLES",
    "JSON",
    "Stamp",
    "access_sessions",
    "access_tokens",
    "audit_checkpoints",
    "audit_keys",
    "audit_log",
    "checkins",
    "db_roles",
    "flag_reviews",
    "history_entries",
    "instrument_responses",
    "letters",
    "metadata",
    "notes",
    "patients",
    "plan_items",
    "symptom_ratings",
    "test_orders",
    "test_results",
    "visits",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Stamp = sa.DateTime(timezone=True)

patients = sa.Table(
    "patients",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("sex", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("record_version", sa.Integer, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False, index=True),
    sa.Column("deleted_at", Stamp, nullable=True),
)


def _child(name: str, *columns: sa.Column[Any]) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "patient_id", sa.String(64), sa.ForeignKey("patients.id"), nullable=False, index=True
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("deleted_at", Stamp, nullable=True),
        *columns,
    )


def _live_unique(name: str, table: sa.Table, *cols: str) -> None:
    """Unique among records that are not soft-deleted (a partial index on both dialects)."""
    live = table.c.deleted_at.is_(None)
    sa.Index(
        name, *(table.c[c] for c in cols), unique=True, sqlite_where=live, postgresql_where=live
    )


visits = _child(
    "visits",
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("visit_date", sa.Date, nullable=False),
    sa.Column("screen", JSON, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
)

history_entries = _child(
    "history_entries",
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("data", JSON, nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
)

symptom_ratings = _child(
    "symptom_ratings",
    sa.Column("visit_id", sa.String(32), sa.ForeignKey("visits.id"), nullable=False, index=True),
    sa.Column("symptom", sa.String(64), nullable=False),
    sa.Column("severity", sa.Integer, nullable=False),
    sa.Column("frequency", sa.String(32), nullable=False),
)
_live_unique("uq_symptom_ratings_live", symptom_ratings, "visit_id", "symptom")

instrument_responses = _child(
    "instrument_responses",
    sa.Column("visit_id", sa.String(32), sa.ForeignKey("visits.id"), nullable=False, index=True),
    sa.Column("instrument", sa.String(64), nullable=False),
    sa.Column("answers", JSON, nullable=False),
    sa.Column("total", sa.Integer, nullable=True),
    sa.Column("band", sa.String(64), nullable=True),
)
_live_unique("uq_instrument_responses_live", instrument_responses, "visit_id", "instrument")

test_orders = _child(
    "test_orders",
    sa.Column("test", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("ordered_on", sa.Date, nullable=False),
    sa.Column("collected_on", sa.Date, nullable=True),
    sa.Column("resulted_on", sa.Date, nullable=True),
    sa.Column("visit_id", sa.String(32), sa.ForeignKey("visits.id"), nullable=True),
    sa.Column("reason", sa.String(200), nullable=False),
)

test_results = _child(
    "test_results",
    sa.Column("test", sa.String(64), nullable=False),
    sa.Column("collected_on", sa.Date, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("value_text", sa.String(200), nullable=True),
    sa.Column("unit", sa.String(200), nullable=False),
    sa.Column("ref_low", sa.Float, nullable=True),
    sa.Column("ref_high", sa.Float, nullable=True),
    sa.Column("flag", sa.String(1), nullable=True),
    sa.Column("order_id", sa.String(32), sa.ForeignKey("test_orders.id"), nullable=True),
    # Set by CaseStore.mark_results_reviewed; a changed value clears them (0005).
    sa.Column("reviewed_at", Stamp, nullable=True),
    sa.Column("reviewed_by", sa.String(200), nullable=True),
)
_live_unique("uq_test_results_live", test_results, "patient_id", "test", "collected_on")

plan_items = _child(
    "plan_items",
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("dose", sa.String(200), nullable=False),
    sa.Column("frequency", sa.String(200), nullable=False),
    sa.Column("start", sa.Date, nullable=True),
    sa.Column("end", sa.Date, nullable=True),
    sa.Column("instructions", sa.Text, nullable=False),
    sa.Column("rationale", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("template", sa.String(64), nullable=True),
    sa.Column("source", sa.String(200), nullable=False),
    # migration 0003: the patient-facing name and the confirmed cautions of the item
    sa.Column("patient_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("caution_confirmations", JSON, nullable=False, server_default="[]"),
    # migration 0008: the catalog substances it contains, or why none is listed
    sa.Column("substances", JSON, nullable=False, server_default="[]"),
    sa.Column("no_substance_reason", sa.String(200), nullable=False, server_default=""),
)

notes = _child(
    "notes",
    sa.Column("written_on", sa.Date, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("visibility", sa.String(16), nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("visit_id", sa.String(32), sa.ForeignKey("visits.id"), nullable=True),
)

flag_reviews = _child(  # steps of a red flag's lifecycle (clinical.flag_lifecycle); append-only
    "flag_reviews",
    sa.Column("rule_key", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("referred_to", sa.String(200), nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("evidence_on", sa.Date, nullable=True),
)

letters = _child(
    "letters",
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("recipient", sa.String(1000), nullable=False),
    sa.Column("letter_date", sa.Date, nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("record_version", sa.Integer, nullable=False),
    sa.Column("pdf", sa.LargeBinary, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", Stamp, nullable=True),
)


def _serial_id() -> sa.Column[int]:
    """A BIGSERIAL id (an INTEGER rowid on SQLite), in insertion order."""
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    )


audit_log = sa.Table(
    "audit_log",
    metadata,
    _serial_id(),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("patient_id", sa.String(64), nullable=True, index=True),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("before", JSON, nullable=True),
    sa.Column("after", JSON, nullable=True),
    # sha256 of the previous row's chain and this row's fields (casebook.store.audit_chain).
    sa.Column("chain", sa.String(64), nullable=True),
    # HMAC of the previous row's seal, this id and chain, with the store's key (0011;
    # casebook.store.audit_key): only the key's holder can write a row that verifies.
    sa.Column("mac", sa.String(64), nullable=True),
)

# The store's id (names a SQLite store's key file) and, on PostgreSQL, the key itself as
# HMAC's padded keys; only the owner of the tables may read it there (0011).
audit_keys = sa.Table(
    "audit_keys",
    metadata,
    sa.Column("store_id", sa.String(36), primary_key=True),
    sa.Column("ipad", sa.LargeBinary, nullable=True),
    sa.Column("opad", sa.LargeBinary, nullable=True),
)

# Signed statements of how the audit log stood (casebook audit --checkpoint); append-only.
audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    _serial_id(),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("upto_id", sa.BigInteger, nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("head", sa.String(64), nullable=False),
    sa.Column("sig", sa.String(64), nullable=False),
)

# PostgreSQL: the group role of each kind of user of this store (casebook.store.roles).
db_roles = sa.Table(
    "db_roles",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("role_name", sa.String(63), nullable=False),
)

access_tokens = sa.Table(
    "access_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "patient_id", sa.String(64), sa.ForeignKey("patients.id"), nullable=False, index=True
    ),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
    sa.Column("revoked_at", Stamp, nullable=True),
)

access_sessions = sa.Table(
    "access_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column(
        "token_hash",
        sa.String(64),
        sa.ForeignKey("access_tokens.token_hash"),
        nullable=False,
        index=True,
    ),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
)

checkins = sa.Table(  # what a patient fills in through a link (store.checkins); 0009
    "checkins",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "patient_id", sa.String(64), sa.ForeignKey("patients.id"), nullable=False, index=True
    ),
    sa.Column(
        "token_hash",
        sa.String(64),
        sa.ForeignKey("access_tokens.token_hash"),
        nullable=False,
        index=True,
    ),
    sa.Column("instruments", JSON, nullable=False),
    sa.Column("due_on", sa.Date, nullable=True),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("answers", JSON, nullable=False),
    sa.Column("free_text", sa.Text, nullable=False),
    sa.Column("saved_at", Stamp, nullable=True),
    sa.Column("submitted_at", Stamp, nullable=True),
    sa.Column("visit_id", sa.String(32), nullable=True),
    sa.Column("accepted_into", sa.String(32), nullable=True),
    sa.Column("reviewed_by", sa.String(200), nullable=True),
    sa.Column("reviewed_at", Stamp, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

CHILD_TABLES: dict[str, sa.Table] = {
    "visit": visits,
    "history": history_entries,
    "symptom": symptom_ratings,
    "instrument": instrument_responses,
    "order": test_orders,
    "result": test_results,
    "plan": plan_items,
    "note": notes,
    "flag_review": flag_reviews,
    "letter": letters,
}
