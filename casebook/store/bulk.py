"""Whole-file and whole-case imports: one transaction each, audited, idempotent (lab
results: `casebook.store.result_import`).

The work is done by functions of a `Transaction` (`write_patients`, `write_new_cases`,
`write_case`); `import_patients`, `import_cases` and `import_case`, which `casebook.store`
exports, open one on a `CaseStore` and call them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from casebook.clinical.cautions import caution_index
from casebook.clinical.derive import prepare
from casebook.errors import StoreError
from casebook.models import Case, Patient
from casebook.store import tables
from casebook.store.patients import save_patient
from casebook.store.reads import read_case
from casebook.store.records import ENTITIES, chunked, patient_from_row, patient_to_row
from casebook.store.transaction import Transaction
from casebook.store.writes import delete_record, save_record

if TYPE_CHECKING:
    from casebook.catalog import Catalog
    from casebook.store.casestore import CaseStore

__all__ = [
    "ImportSummary",
    "import_case",
    "import_cases",
    "import_patients",
    "write_case",
    "write_new_cases",
    "write_patients",
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


def import_patients(store: CaseStore, patients: Sequence[Patient]) -> ImportSummary:
    """Create new patients and update changed ones, in one transaction."""
    with store.transaction() as tx:
        return write_patients(tx, patients)


def write_patients(tx: Transaction, patients: Sequence[Patient]) -> ImportSummary:
    """Create new patients and update changed ones (`import_patients`)."""
    p = tables.patients
    summary = ImportSummary()
    now = tx.now()
    conn = tx.conn
    # Two imports that create the same new ids must not both insert them: the second
    # waits here, then finds the first one's rows and updates or skips them.
    tx.lock_new_patients()
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
    tx.audit_many([(pid, "patient", pid, act, b, a) for pid, act, b, a in audits])
    return summary


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


def _prepared(catalog: Catalog, case: Case) -> Case:
    """The case with derived fields as the store computes them, every version >= 1.

    The caution index is built once for the case, so the checks stay linear in its size.
    A whole case is imported in review mode: a plan item whose caution is not confirmed is
    kept and listed for review (`clinical.cautions.items_for_review`), never refused, so a
    case's own export always imports back."""
    index = caution_index(case, catalog)
    return case.model_copy(
        update={
            ent.collection: [
                r if r.version else r.model_copy(update={"version": 1})
                for r in (
                    prepare(x, catalog, case.patient, case, cautions=index, review=True)
                    for x in getattr(case, ent.collection)
                )
            ]
            for ent in ENTITIES
        }
    )


def write_new_cases(tx: Transaction, cases: Sequence[Case]) -> None:
    """Insert new, prepared cases exactly as given (ids and versions kept); one audit
    entry each. StoreError if a patient id is taken or given twice."""
    p = tables.patients
    tx.lock_new_patients()
    ids = [c.patient.id for c in cases]
    for chunk in chunked(sorted(ids)):
        taken = tx.conn.execute(sa.select(p.c.id).where(p.c.id.in_(chunk))).scalars().all()
        if taken:
            raise StoreError(f"patient(s) already in the store: {', '.join(taken)}")
    if len(set(ids)) != len(ids):
        raise StoreError("the same patient id appears twice among the cases")
    now = tx.now()
    patients = [
        c.patient
        if c.patient.version
        else c.patient.model_copy(update={"version": 1, "record_version": 1})
        for c in cases
    ]
    tx.conn.execute(
        p.insert(), [{**patient_to_row(x), "created_at": now, "updated_at": now} for x in patients]
    )
    for ent in ENTITIES:
        rows = [ent.to_row(r) for c in cases for r in getattr(c, ent.collection)]
        if rows:
            _insert_checked(tx.conn, ent.table, rows, ent.kind)
    tx.audit_many(
        [(c.patient.id, "case", c.patient.id, "import", None, _audited_case(c)) for c in cases]
    )


def _audited_case(case: Case) -> dict[str, Any]:
    """The case as the audit log keeps it: letters without their PDF bodies."""
    return case.model_dump(mode="json", exclude={"letters": {"__all__": {"pdf"}}})


def import_cases(store: CaseStore, cases: Sequence[Case]) -> int:
    """Write many new cases in one transaction (the demo and benchmarks use this)."""
    prepared = [_prepared(store.catalog, c) for c in cases]
    with store.transaction() as tx:
        write_new_cases(tx, prepared)
    return len(prepared)


def import_case(store: CaseStore, case: Case, *, replace: bool = False) -> str:
    """Write a whole case in one transaction: 'created', 'replaced' or 'unchanged'.

    A new patient is written exactly as given (ids and versions kept), so export then
    import is lossless. An existing different case is only replaced with `replace`."""
    with store.transaction() as tx:
        return write_case(tx, case, replace=replace)


def write_case(tx: Transaction, case: Case, *, replace: bool = False) -> str:
    """`import_case` in a transaction of the caller's."""
    p = tables.patients
    case = _prepared(tx.catalog, case)
    row = tx.conn.execute(sa.select(p).where(p.c.id == case.patient.id)).first()
    if row is None:
        write_new_cases(tx, [case])
        return "created"
    if row.deleted_at is not None:
        raise StoreError(f"patient {case.patient.id!r} was deleted; it cannot be re-imported")
    current = read_case(tx.conn, case.patient.id)
    if _content(current) == _content(case):
        return "unchanged"
    if not replace:
        raise StoreError(
            f"patient {case.patient.id!r} already exists with a different "
            "record; use --replace to overwrite it (the old one stays in "
            "the audit log)"
        )
    save_patient(tx, case.patient.model_copy(update={"version": current.patient.version}))
    for ent in ENTITIES:  # inserts and updates, parents first
        now = {r.id: r for r in getattr(current, ent.collection)}
        for rec in getattr(case, ent.collection):
            old = now.get(rec.id)
            version = old.version if old else 0
            save_record(tx, rec.model_copy(update={"version": version}), prepared=True)
    for ent in reversed(ENTITIES):  # deletions, children first
        keep = {r.id for r in getattr(case, ent.collection)}
        for rec in read_case(tx.conn, case.patient.id).model_dump()[ent.collection]:
            if rec["id"] not in keep:
                delete_record(tx, ent.model.model_validate(rec))
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
