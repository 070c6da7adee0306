"""Reading the audit log: a patient's entries, who changed a record last, and whose
records an actor changed. Writing it is `Transaction.audit`; its hash chain is
`casebook.store.audit_chain`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from casebook.store import tables
from casebook.store.records import aware

__all__ = ["AuditEntry", "audit_entries", "last_change", "patients_changed_by"]


class AuditEntry(BaseModel):
    """One entry of the audit log: who did what to which record, when, before and after."""

    id: int
    at: datetime
    actor: str
    patient_id: str | None
    entity: str
    entity_id: str | None
    action: str
    before: Any
    after: Any
    chain: str | None = None


def audit_entries(conn: sa.Connection, patient_id: str) -> list[AuditEntry]:
    """The patient's entries, oldest first."""
    a = tables.audit_log
    rows = conn.execute(sa.select(a).where(a.c.patient_id == patient_id).order_by(a.c.id)).all()
    return [AuditEntry(**{**r._mapping, "at": aware(r.at)}) for r in rows]


def last_change(
    conn: sa.Connection, patient_id: str, entity_id: str
) -> tuple[str | None, datetime | None]:
    """Who last changed one record of the patient's case, and when, for a conflict message
    ((None, None) if the log has no entry for it)."""
    a = tables.audit_log
    query = sa.select(a.c.actor, a.c.at).where(
        a.c.patient_id == patient_id, a.c.entity_id == entity_id
    )
    row = conn.execute(query.order_by(a.c.id.desc()).limit(1)).first()
    return (None, None) if row is None else (row.actor, aware(row.at))


def patients_changed_by(conn: sa.Connection, actor: str) -> set[str]:
    """The patients whose record `actor` has changed, in one query."""
    a = tables.audit_log
    return set(
        conn.execute(
            sa.select(a.c.patient_id)
            .distinct()
            .where(a.c.actor == actor, a.c.patient_id.is_not(None))
        ).scalars()
    )
