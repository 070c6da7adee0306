"""Whole-file and whole-case imports: one transaction each, audited, idempotent (lab
results: `casebook.store.result_import`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from casebook.clinical.derive import prepare
from casebook.models import Case, Patient
from casebook.store import tables
from casebook.store.chain import AuditEntryTuple, append
from casebook.store.engine import NEW_PATIENTS_LOCK, StoreError, advisory_lock
from casebook.store.records import ENTITIES, any_of, chunked, patient_from_row, patient_to_row

if TYPE_CHECKING:
    from casebook.store.casestore import CaseStore

__all__ = [
    "ImportSummary",
    "bump_patients",
    "import_case",
    "import_cases",
    "import_patients",
]

@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    patients: set[str] = field(default_factory=set)

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged "
            f"({len(self.patients)} patients)"
        )


def bump_patients(conn: sa.Connection, patient_ids: Collection[str]) -> None:
    """A new record_version for each of the patients (their case changed), in one UPDATE."""
    if not patient_ids:
        return
    p = tables.patients
    conn.execute(sa.update(p).where(any_of(conn, p.c.id, sorted(patient_ids)))
                 .values(record_version=p.c.record_version + 1, updated_at=datetime.now(UTC)))


def import_patients(store: CaseStore, patients: Sequence[Patient]) -> ImportSummary:
    """Create new patients and update changed ones, in one transaction."""
    p = tables.patients
    summary = ImportSummary()
    now = datetime.now(UTC)
    with store._transaction() as conn:
        # Two imports that create the same new ids must not both insert them: the second
        # waits here, then finds the first one's rows and updates or skips them.
        advisory_lock(conn, NEW_PATIENTS_LOCK)
        current: dict[str, Any] = {}
        for chunk in chunked(sorted({x.id for x in patients})):
            for found in conn.execute(sa.select(p).where(p.c.id.in_(chunk)).with_for_update()):
                current[found.id] = found
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audits: list[tuple[str, str, Any, Any]] = []
        for patient in patients:
            row = current.get(patient.id)
            if row is not None and row.deleted_at is not None:
                raise StoreError(f"patient {patient.id!r} was deleted; it cannot be re-imported")
            if row is None:
                new = patient.model_copy(update={"version": 1, "record_version": 1})
                inserts.append({**patient_to_row(new), "created_at": now, "updated_at": now})
                audits.append((new.id, "create", None, new.model_dump(mode="json")))
                summary.created += 1
            else:
                old = patient_from_row(row)
                if (old.name, old.birth_date, old.sex) == (
                    patient.name,
                    patient.birth_date,
                    patient.sex,
                ):
                    summary.unchanged += 1
                    continue
                new = old.model_copy(
                    update={
                        "name": patient.name,
                        "birth_date": patient.birth_date,
                        "sex": patient.sex,
                        "version": old.version + 1,
                        "record_version": old.record_version + 1,
                    }
                )
                updates.append(
                    {
                        "pid": new.id,
                        "name": new.name,
                        "birth_date": new.birth_date,
                        "sex": new.sex,
                        "version": new.version,
                        "record_version": new.record_version,
                        "updated_at": now,
                    }
                )
                audits.append(
                    (new.id, "update", old.model_dump(mode="json"), new.model_dump(mode="json"))
                )
                summary.updated += 1
            summary.patients.add(patient.id)
        if inserts:
            conn.execute(p.insert(), inserts)
        if updates:
            conn.execute(
                sa.update(p)
                .where(p.c.id == sa.bindparam("pid"))
                .values(
                    name=sa.bindparam("name"),
                    birth_date=sa.bindparam("birth_date"),
                    sex=sa.bindparam("sex"),
                    version=sa.bindparam("version"),
                    record_version=sa.bindparam("record_version"),
                    updated_at=sa.bindparam("updated_at"),
                ),
                updates,
            )
        _audit_many(store, conn, [(pid, "patient", pid, act, b, a) for pid, act, b, a in audits])
    return summary


def _audit_many(store: CaseStore, conn: sa.Connection, entries: list[AuditEntryTuple]) -> None:
    append(conn, store.actor, entries)


def _content(case: Case) -> dict[str, Any]:
    data = case.model_dump(mode="json")
    data["patient"].pop("record_version")
    data["patient"].pop("version")
    for ent in ENTITIES:
        data[ent.collection] = sorted(
            ({k: v for k, v in rec.items() if k != "version"} for rec in data[ent.collection]),
            key=lambda r: r["id"],
        )
    return data


def _prepared(store: CaseStore, case: Case) -> Case:
    """The case with derived fields as the store computes them, every version >= 1."""
    return case.model_copy(
        update={
            ent.collection: [
                r if r.version else r.model_copy(update={"version": 1})
                for r in (
                    prepare(x, store.catalog, case.patient, case)
                    for x in getattr(case, ent.collection)
                )
            ]
            for ent in ENTITIES
        }
    )


def _create_cases(store: CaseStore, conn: sa.Connection, cases: Sequence[Case]) -> None:
    """Insert new cases exactly as given (ids and versions kept); one audit entry each."""
    p = tables.patients
    advisory_lock(conn, NEW_PATIENTS_LOCK)
    ids = [c.patient.id for c in cases]
    for chunk in chunked(sorted(ids)):
        taken = conn.execute(sa.select(p.c.id).where(p.c.id.in_(chunk))).scalars().all()
        if taken:
            raise StoreError(f"patient(s) already in the store: {', '.join(taken)}")
    if len(set(ids)) != len(ids):
        raise StoreError("the same patient id appears twice among the cases")
    now = datetime.now(UTC)
    patients = [
        c.patient
        if c.patient.version
        else c.patient.model_copy(update={"version": 1, "record_version": 1})
        for c in cases
    ]
    conn.execute(
        p.insert(), [{**patient_to_row(x), "created_at": now, "updated_at": now} for x in patients]
    )
    for ent in ENTITIES:
        rows = [ent.to_row(r) for c in cases for r in getattr(c, ent.collection)]
        if rows:
            _insert_checked(conn, ent.table, rows, ent.kind)
    _audit_many(
        store,
        conn,
        [
            (c.patient.id, "case", c.patient.id, "import", None, _audited_case(c))
            for c in cases
        ],
    )


def _audited_case(case: Case) -> dict[str, Any]:
    """The case as the audit log keeps it: letters without their PDF bodies."""
    return case.model_dump(mode="json", exclude={"letters": {"__all__": {"pdf"}}})


def import_cases(store: CaseStore, cases: Sequence[Case]) -> int:
    """Write many new cases in one transaction (the demo and benchmarks use this)."""
    prepared = [_prepared(store, c) for c in cases]
    with store._transaction() as conn:
        _create_cases(store, conn, prepared)
    return len(prepared)


def import_case(store: CaseStore, case: Case, *, replace: bool = False) -> str:
    """Write a whole case in one transaction: 'created', 'replaced' or 'unchanged'.

    A new patient is written exactly as given (ids and versions kept), so export then
    import is lossless. An existing different case is only replaced with `replace`."""
    p = tables.patients
    case = _prepared(store, case)
    with store._transaction() as conn:
        row = conn.execute(sa.select(p).where(p.c.id == case.patient.id)).first()
        if row is None:
            _create_cases(store, conn, [case])
            return "created"
        if row.deleted_at is not None:
            raise StoreError(f"patient {case.patient.id!r} was deleted; it cannot be re-imported")
        current = store._load_case_in(conn, case.patient.id)
        if _content(current) == _content(case):
            return "unchanged"
        if not replace:
            raise StoreError(
                f"patient {case.patient.id!r} already exists with a different "
                "record; use --replace to overwrite it (the old one stays in "
                "the audit log)"
            )
        store._save_patient_in(
            conn, case.patient.model_copy(update={"version": current.patient.version})
        )
        for ent in ENTITIES:  # inserts and updates, parents first
            now = {r.id: r for r in getattr(current, ent.collection)}
            for rec in getattr(case, ent.collection):
                old = now.get(rec.id)
                store._save_in(conn, rec.model_copy(update={"version": old.version if old else 0}))
        for ent in reversed(ENTITIES):  # deletions, children first
            keep = {r.id for r in getattr(case, ent.collection)}
            for rec in store._load_case_in(conn, case.patient.id).model_dump()[ent.collection]:
                if rec["id"] not in keep:
                    store._delete_in(conn, ent.model.model_validate(rec))
        return "replaced"


def _insert_checked(
    conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], kind: str
) -> None:
    try:
        with conn.begin_nested():
            conn.execute(table.insert(), rows)
    except sa.exc.IntegrityError as exc:
        raise StoreError(
            f"{kind}: a record id in the file already exists in this store, or "
            f"refers to a missing visit or order ({exc.orig})"
        ) from None
