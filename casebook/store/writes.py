"""Saving and deleting one record of a case, inside a `Transaction`: optimistic versions,
derived fields (`casebook.clinical.derive.prepare`), soft deletes, one audit entry per change; and
marking results reviewed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, TypeVar, cast

import sqlalchemy as sa

from casebook.clinical.derive import prepare
from casebook.errors import ConflictError, NotFoundError, StoreError
from casebook.models import Note, Patient, PlanItem, Record, TestOrder, TestResult, Visit
from casebook.store.audit_chain import AuditEntryTuple
from casebook.store.audit_log import last_change
from casebook.store.reads import read_case
from casebook.store.records import ENTITIES, Entity, entity_for
from casebook.store.transaction import Transaction

__all__ = [
    "delete_record",
    "insert_records",
    "integrity_message",
    "mark_results_reviewed",
    "review_cleared",
    "save_record",
]

R = TypeVar("R", bound=Record)


def save_record(tx: Transaction, record: R, *, prepared: bool = False) -> R:
    """Insert (version 0) or update (version as read) one record; returns it as saved.
    ConflictError if it moved on since it was read; nothing changed: no write, no audit.

    `prepared`: the caller has already run `prepare` on it against the whole case it
    belongs to (a whole-case import does, once per case), so the case is not read again
    for every plan item."""
    ent = entity_for(record)
    patient = tx.lock_patient(record.patient_id)
    if not prepared:
        case = read_case(tx.conn, patient.id) if isinstance(record, PlanItem) else None
        record = cast(R, prepare(record, tx.catalog, patient, case))  # keeps the type
    t = ent.table
    if record.version == 0:
        new = record.model_copy(update={"version": 1})
        try:
            with tx.conn.begin_nested():
                tx.conn.execute(t.insert(), ent.to_row(new))
        except sa.exc.IntegrityError as exc:
            raise StoreError(integrity_message(ent.kind, new, exc)) from None
        tx.bump_version(new.patient_id)
        tx.audit(new.patient_id, ent.kind, new.id, "create", None, ent.to_json(new))
        return new
    current = _current(tx, ent, record)
    record = cast(R, review_cleared(record, current))  # changed value: review again
    if record == current:
        return current
    new = record.model_copy(update={"version": record.version + 1})
    try:
        with tx.conn.begin_nested():
            updated = tx.conn.execute(
                sa.update(t)
                .where(t.c.id == record.id, t.c.version == record.version)
                .values(ent.to_row(new))
            ).rowcount
    except sa.exc.IntegrityError as exc:
        raise StoreError(integrity_message(ent.kind, new, exc)) from None
    if updated != 1:  # pragma: no cover - the patient lock makes this unreachable
        raise ConflictError(ent.kind, record.id, record.version, None, None)
    tx.bump_version(new.patient_id)
    tx.audit(new.patient_id, ent.kind, new.id, "update", ent.to_json(current), ent.to_json(new))
    return new


def insert_records(
    tx: Transaction, patient: Patient, records: Sequence[Record]
) -> tuple[list[Record], list[AuditEntryTuple]]:
    """Insert new records (version 0) of `patient`, whose lock the caller holds, as
    `save_record` would one by one (derived fields, the same checks) but with one
    statement per table: a check-in's answers. Not for plan items (they are checked
    against the whole case: use `save_record`). Returns the records as stored and their
    audit entries; the caller bumps the version and writes the entries with its own, so
    the transaction appends to the audit chain once. No savepoint: a refused insert
    raises StoreError and the caller's transaction is rolled back whole."""
    if not records:
        return [], []
    if any(
        r.patient_id != patient.id or r.version != 0 or isinstance(r, PlanItem) for r in records
    ):
        raise StoreError("insert_records: new records of one patient, no plan items")
    new = [prepare(r, tx.catalog, patient, None).model_copy(update={"version": 1}) for r in records]
    audit: list[AuditEntryTuple] = []
    for ent in ENTITIES:  # parents (visits) first
        rows = [r for r in new if type(r) is ent.model]
        if not rows:
            continue
        try:
            tx.conn.execute(ent.table.insert(), [ent.to_row(r) for r in rows])
        except sa.exc.IntegrityError as exc:
            raise StoreError(integrity_message(ent.kind, rows[0], exc)) from None
        audit += [(patient.id, ent.kind, r.id, "create", None, ent.to_json(r)) for r in rows]
    return new, audit


def _current(tx: Transaction, ent: Entity, record: Record) -> Record:
    """The stored version of `record`, or ConflictError if it moved on or was deleted."""
    t = ent.table
    row = tx.conn.execute(sa.select(t).where(t.c.id == record.id)).first()
    if row is None or row.patient_id != record.patient_id:
        raise NotFoundError(f"no {ent.kind} {record.id!r} for patient {record.patient_id!r}")
    current = None if row.deleted_at is not None else ent.from_row(row)
    if current is None or current.version != record.version:
        by, at = last_change(tx.conn, record.patient_id, record.id)
        raise ConflictError(ent.kind, record.id, record.version, current, by, at)
    return current


def delete_record(tx: Transaction, record: Record) -> None:
    """Soft-delete a record read at its version (audited). Deleting a visit also deletes
    its ratings and instrument answers, and detaches its notes and orders."""
    ent = entity_for(record)
    tx.lock_patient(record.patient_id)
    t = ent.table
    current = _current(tx, ent, record)
    if isinstance(current, Visit):
        _detach_visit(tx, current)
    tx.conn.execute(
        sa.update(t)
        .where(t.c.id == record.id)
        .values(deleted_at=tx.now(), version=current.version + 1)
    )
    tx.bump_version(record.patient_id)
    tx.audit(record.patient_id, ent.kind, record.id, "delete", ent.to_json(current), None)


def _detach_visit(tx: Transaction, visit: Visit) -> None:
    for ent in ENTITIES:
        if "visit_id" not in ent.table.c or ent.model is Visit:
            continue
        t = ent.table
        rows = tx.conn.execute(
            sa.select(t).where(t.c.visit_id == visit.id, t.c.deleted_at.is_(None))
        ).all()
        for row in rows:
            child = ent.from_row(row)
            if ent.model in (Note, TestOrder):
                save_record(tx, child.model_copy(update={"visit_id": None}))
            else:
                tx.conn.execute(
                    sa.update(t)
                    .where(t.c.id == child.id)
                    .values(deleted_at=tx.now(), version=child.version + 1)
                )
                tx.audit(child.patient_id, ent.kind, child.id, "delete", ent.to_json(child), None)


def integrity_message(kind: str, record: Any, exc: sa.exc.IntegrityError) -> str:
    """One line for a write the database refused: which record, and what to do."""
    text = str(exc.orig).lower()
    if "unique" in text or "duplicate" in text:
        hint = {
            "symptom": "this visit already has a rating for that symptom; edit it instead",
            "instrument": "this visit already has answers for that instrument; edit them instead",
            "result": "there is already a result of that test on that date; edit it instead",
        }.get(kind, "a record with this id already exists")
        return f"{kind} {record.id}: {hint}"
    if "foreign key" in text:
        return f"{kind} {record.id}: refers to a visit, order or patient that does not exist"
    return f"{kind} {record.id}: {exc.orig}"


_RESULT_VALUE = ("test", "collected_on", "value", "value_text", "unit", "ref_low", "ref_high")


def _result_value(record: Record) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in _RESULT_VALUE)


def review_cleared(record: Record, current: Record) -> Record:
    """`record` as it should be saved over `current`: a result whose value changed is a new
    result to review, so its review is cleared."""
    if (
        isinstance(record, TestResult)
        and record.reviewed_at is not None
        and _result_value(record) != _result_value(current)
    ):
        return record.model_copy(update={"reviewed_at": None, "reviewed_by": None})
    return record


def mark_results_reviewed(
    tx: Transaction, patient_id: str, result_ids: Iterable[str] | Literal["all"] = "all"
) -> list[TestResult]:
    """Mark results of one patient reviewed by the actor, now: the given ids, or "all" not
    yet reviewed. One audit entry per result; results already reviewed are left as they
    are. Returns the results newly marked. An id that is not a live result of this patient
    raises NotFoundError."""
    ent = entity_for(TestResult)
    t = ent.table
    tx.lock_patient(patient_id)
    query = sa.select(t).where(t.c.patient_id == patient_id, t.c.deleted_at.is_(None))
    found = {r.id: ent.from_row(r) for r in tx.conn.execute(query)}
    if result_ids == "all":
        chosen = list(found.values())
    else:
        ids = list(dict.fromkeys(result_ids))
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(f"no result {missing[0]!r} for patient {patient_id!r}")
        chosen = [found[i] for i in ids]
    now, done = tx.now(), []
    for current in chosen:
        if not isinstance(current, TestResult) or current.reviewed_at is not None:
            continue
        new = current.model_copy(
            update={"reviewed_at": now, "reviewed_by": tx.actor, "version": current.version + 1}
        )
        tx.conn.execute(
            sa.update(t)
            .where(t.c.id == new.id)
            .values(reviewed_at=now, reviewed_by=tx.actor, version=new.version)
        )
        tx.audit(patient_id, ent.kind, new.id, "review", ent.to_json(current), ent.to_json(new))
        done.append(new)
    if done:
        tx.bump_version(patient_id)
    return done
