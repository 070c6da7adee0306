"""Whole-file and whole-case imports: one transaction each, audited, idempotent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from casebook.derive import prepare
from casebook.models import Case, Patient, TestResult, new_id
from casebook.store import tables
from casebook.store.chain import AuditEntryTuple, append
from casebook.store.engine import NEW_PATIENTS_LOCK, StoreError, advisory_lock
from casebook.store.records import ENTITIES, chunked, patient_from_row, patient_to_row

if TYPE_CHECKING:
    from casebook.store.casestore import CaseStore

__all__ = [
    "ImportSummary",
    "import_case",
    "import_cases",
    "import_patients",
    "import_results",
]

_RESULT_VALUE_FIELDS = ("value", "value_text", "unit", "ref_low", "ref_high", "flag")


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


def _bump_all(conn: sa.Connection, patient_ids: set[str]) -> None:
    if not patient_ids:
        return
    p = tables.patients
    conn.execute(
        sa.update(p)
        .where(p.c.id == sa.bindparam("pid"))
        .values(record_version=p.c.record_version + 1, updated_at=datetime.now(UTC)),
        [{"pid": pid} for pid in sorted(patient_ids)],
    )


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


def _fast_insert(conn: sa.Connection, table: sa.Table, cols: Sequence[str],
                 rows: list[tuple[Any, ...]]) -> None:
    """executemany straight through the driver: the rows are already validated, and
    SQLAlchemy's per-row parameter processing would cost more than the insert itself.
    Dates must already be ISO strings on SQLite (as SQLAlchemy's Date type stores them)."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    # identifiers quoted by the dialect, values bound as parameters: no injection
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, cols))}) "  # noqa: S608
           f"VALUES ({', '.join(mark for _ in cols)})")
    conn.exec_driver_sql(sql, rows)


# Created results are audited as rows of these columns (compact, one list per result).
_AUDITED = ("id", "test", "collected_on", *_RESULT_VALUE_FIELDS, "order_id")


def _audit_row(row: Mapping[str, Any]) -> list[Any]:
    return [row["id"], row["test"], row["collected_on"].isoformat(), row["value"],
            row["value_text"], row["unit"], row["ref_low"], row["ref_high"], row["flag"],
            row["order_id"]]


def import_results(
    store: CaseStore, results: Sequence[Mapping[str, Any] | TestResult]
) -> ImportSummary:
    """Store validated results (`casebook.interop.csv_io.validate_results_csv`) in one
    transaction, with one audit entry per patient.

    The key of a result is (patient, test, collected_on): a row already there with the
    same values is unchanged, with other values it is updated. A new result fulfils the
    oldest open order of that test placed on or before its collection date.
    """
    t, o = tables.test_results, tables.test_orders
    rows = [r.model_dump(include={"patient_id", "collected_on", "test", *_RESULT_VALUE_FIELDS})
            if isinstance(r, TestResult) else r for r in results]
    summary = ImportSummary()
    today = date.today()
    pids = sorted({r["patient_id"] for r in rows})
    days = [r["collected_on"] for r in rows]
    first_day, last_day = (min(days), max(days)) if days else (today, today)
    with store._transaction() as conn:
        for chunk in chunked(pids):  # lock the cases, in a stable order
            conn.execute(sa.select(tables.patients.c.id).where(tables.patients.c.id.in_(chunk))
                         .order_by(tables.patients.c.id).with_for_update()).all()
        existing: dict[tuple[str, str, date], Any] = {}
        open_orders: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for chunk in chunked(pids):
            key_and_values = (t.c.id, t.c.patient_id, t.c.test, t.c.collected_on, t.c.version,
                              *(t.c[f] for f in _RESULT_VALUE_FIELDS))
            for row in conn.execute(sa.select(*key_and_values).where(
                    t.c.patient_id.in_(chunk), t.c.deleted_at.is_(None),
                    t.c.collected_on.between(first_day, last_day))):
                existing[(row.patient_id, row.test, row.collected_on)] = row
            for row in conn.execute(
                sa.select(o).where(o.c.patient_id.in_(chunk), o.c.deleted_at.is_(None),
                                   o.c.status.in_(("ordered", "collected")))
                .order_by(o.c.ordered_on, o.c.id)
            ):
                open_orders[(row.patient_id, row.test)].append(row)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        order_updates: list[dict[str, Any]] = []
        created: dict[str, list[dict[str, Any]]] = defaultdict(list)
        resulted: dict[str, list[str]] = defaultdict(list)
        changed: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
        for res in rows:
            pid = res["patient_id"]
            old = existing.get((pid, res["test"], res["collected_on"]))
            if old is None:
                order_id = None
                queue = open_orders.get((pid, res["test"]))
                if queue:
                    order = next((x for x in queue if x.ordered_on <= res["collected_on"]), None)
                    if order is not None:
                        queue.remove(order)
                        order_id = order.id
                        resulted[pid].append(order.id)
                        order_updates.append({
                            "oid": order.id, "status": "resulted",
                            "collected_on": res["collected_on"],
                            "resulted_on": max(today, res["collected_on"]),
                            "version": order.version + 1})
                new = {"id": new_id(), **res, "order_id": order_id}
                inserts.append(new)
                created[pid].append(new)
                summary.created += 1
            elif all(getattr(old, f) == res[f] for f in _RESULT_VALUE_FIELDS):
                summary.unchanged += 1
                continue
            else:
                update = {f: res[f] for f in _RESULT_VALUE_FIELDS}
                updates.append({"rid": old.id, "version": old.version + 1, **update})
                before = {"id": old.id, **{f: getattr(old, f) for f in _RESULT_VALUE_FIELDS}}
                changed[pid].append((before, {"id": old.id, **update}))
                summary.updated += 1
            summary.patients.add(pid)
        cols = ("id", "patient_id", "version", "test", "collected_on", *_RESULT_VALUE_FIELDS,
                "order_id")
        iso = conn.dialect.name == "sqlite"
        _fast_insert(conn, t, cols, [
            (r["id"], r["patient_id"], 1, r["test"],
             r["collected_on"].isoformat() if iso else r["collected_on"], r["value"],
             r["value_text"], r["unit"], r["ref_low"], r["ref_high"], r["flag"], r["order_id"])
            for r in inserts])
        if updates:
            conn.execute(sa.update(t).where(t.c.id == sa.bindparam("rid")).values(
                version=sa.bindparam("version"), reviewed_at=None, reviewed_by=None,
                **{f: sa.bindparam(f) for f in _RESULT_VALUE_FIELDS}), updates)
        if order_updates:
            conn.execute(sa.update(o).where(o.c.id == sa.bindparam("oid")).values(
                status=sa.bindparam("status"), collected_on=sa.bindparam("collected_on"),
                resulted_on=sa.bindparam("resulted_on"), version=sa.bindparam("version")),
                order_updates)
        _bump_all(conn, summary.patients)
        _audit_many(store, conn, [
            (pid, "result", None, "import",
             {"updated": [b for b, _ in changed[pid]]} if changed[pid] else None,
             {"columns": list(_AUDITED),
              "created": [_audit_row(r) for r in created[pid]],
              "updated": [a for _, a in changed[pid]],
              "orders_resulted": resulted[pid]})
            for pid in sorted(summary.patients)
        ])
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
