"""Patients in the store: create, update and delete one (audited, in a `Transaction`),
and the reads that list them or check which exist."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

import sqlalchemy as sa
from pydantic import BaseModel

from casebook.errors import ConflictError, NotFoundError, StoreError
from casebook.models import Patient
from casebook.store import tables
from casebook.store.audit_log import last_change
from casebook.store.records import any_of, aware, chunked, patient_from_row, patient_to_row
from casebook.store.transaction import Transaction

__all__ = [
    "PatientSummary",
    "add_patient",
    "birth_and_sex",
    "delete_patient",
    "existing_patients",
    "get_patient",
    "patient_summaries",
    "save_patient",
]


class PatientSummary(BaseModel):
    """One line of the patient list: who, and when their case last changed."""

    id: str
    name: str
    birth_date: date
    sex: str
    record_version: int
    updated_at: datetime


def add_patient(tx: Transaction, patient: Patient) -> Patient:
    """Create a patient at version 1; StoreError if the id is taken (even by a deleted one)."""
    p = tables.patients
    tx.lock_new_patients()
    existing = tx.conn.execute(
        sa.select(p.c.id, p.c.deleted_at).where(p.c.id == patient.id)
    ).first()
    if existing is not None:
        state = " (deleted)" if existing.deleted_at is not None else ""
        raise StoreError(f"patient {patient.id!r} already exists{state}")
    patient = patient.model_copy(update={"version": 1, "record_version": 1})
    now = tx.now()
    tx.conn.execute(p.insert(), {**patient_to_row(patient), "created_at": now, "updated_at": now})
    tx.audit(patient.id, "patient", patient.id, "create", None, patient.model_dump(mode="json"))
    return patient


def _locked_at(tx: Transaction, patient_id: str, version: int) -> Patient:
    """The live patient, locked; ConflictError if it is no longer at `version`."""
    current = tx.lock_patient(patient_id)
    if current.version != version:
        by, at = last_change(tx.conn, patient_id, patient_id)
        raise ConflictError("patient", patient_id, version, current, by, at)
    return current


def save_patient(tx: Transaction, patient: Patient) -> Patient:
    """Update a patient read at `patient.version`; returns it as saved (unchanged: as is)."""
    current = _locked_at(tx, patient.id, patient.version)
    if patient.model_copy(update={"record_version": current.record_version}) == current:
        return current
    tx.bump_version(patient.id)
    new = patient.model_copy(
        update={"version": patient.version + 1, "record_version": current.record_version + 1}
    )
    tx.conn.execute(
        sa.update(tables.patients)
        .where(tables.patients.c.id == patient.id)
        .values(name=new.name, birth_date=new.birth_date, sex=new.sex, version=new.version)
    )
    tx.audit(
        patient.id,
        "patient",
        patient.id,
        "update",
        current.model_dump(mode="json"),
        new.model_dump(mode="json"),
    )
    return new


def delete_patient(tx: Transaction, patient_id: str, expected_version: int) -> None:
    """Soft-delete a patient read at `expected_version` (audited)."""
    current = _locked_at(tx, patient_id, expected_version)
    tx.conn.execute(
        sa.update(tables.patients)
        .where(tables.patients.c.id == patient_id)
        .values(deleted_at=tx.now(), version=current.version + 1)
    )
    tx.bump_version(patient_id)
    tx.audit(patient_id, "patient", patient_id, "delete", current.model_dump(mode="json"), None)


def get_patient(conn: sa.Connection, patient_id: str) -> Patient:
    """A live patient; NotFoundError otherwise."""
    p = tables.patients
    row = conn.execute(sa.select(p).where(p.c.id == patient_id, p.c.deleted_at.is_(None))).first()
    if row is None:
        raise NotFoundError(f"no patient {patient_id!r} in the store")
    return patient_from_row(row)


def patient_summaries(
    conn: sa.Connection, changed_since: datetime | None = None
) -> list[PatientSummary]:
    """The live patients by id (those whose case changed since a time, if given)."""
    p = tables.patients
    query = sa.select(p).where(p.c.deleted_at.is_(None)).order_by(p.c.id)
    if changed_since is not None:
        query = query.where(p.c.updated_at >= changed_since)
    return [
        PatientSummary(
            id=r.id,
            name=r.name,
            birth_date=r.birth_date,
            sex=r.sex,
            record_version=r.record_version,
            updated_at=aware(r.updated_at),
        )
        for r in conn.execute(query)
    ]


def existing_patients(conn: sa.Connection, ids: Sequence[str]) -> dict[str, Patient]:
    """The live patients among `ids`, by id."""
    p = tables.patients
    found: dict[str, Patient] = {}
    for chunk in chunked(sorted(set(ids))):
        rows = conn.execute(sa.select(p).where(p.c.id.in_(chunk), p.c.deleted_at.is_(None)))
        found.update((r.id, patient_from_row(r)) for r in rows)
    return found


def birth_and_sex(conn: sa.Connection, patient_ids: Iterable[str]) -> dict[str, tuple[date, str]]:
    """(birth date, sex) of each of `patient_ids` that is a live patient: what a bulk
    import of results checks, without building a `Patient` for each (`existing_patients`
    does, at about 10 µs apiece)."""
    p = tables.patients
    return {
        r.id: (r.birth_date, r.sex)
        for r in conn.execute(
            sa.select(p.c.id, p.c.birth_date, p.c.sex).where(
                any_of(conn, p.c.id, sorted(set(patient_ids))), p.c.deleted_at.is_(None)
            )
        )
    }
