"""Reading cases: one case (`read_case`, also inside a write), many at once for the
clinic view and the batch (`load_cases`), and the stamp a patient's page depends on.

A stored row that no longer validates (edited outside casebook, or left by an older
version) never stops a bulk read: `load_cases` leaves that patient out and lists them in
`LoadedCases.unreadable` with the reason (the record's kind, id and field; never a stored
value), so everyone else is still served. `read_case` of that patient raises
`UnreadableRecordError` with the same reason."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from pydantic import ValidationError

from casebook.errors import NotFoundError, StoreError, UnreadableRecordError
from casebook.models import Case, Patient, Record
from casebook.store import tables
from casebook.store.pipeline import send
from casebook.store.records import ENTITIES, Entity, chunked, patient_from_row

__all__ = [
    "LoadedCases",
    "UnreadableCase",
    "load_cases",
    "page_stamp",
    "read_case",
    "read_case_parts",
    "send_case_parts",
]


@dataclass(frozen=True)
class UnreadableCase:
    """A patient left out of a bulk read: their id, their name when the patient row itself
    reads ("" otherwise), and why (record kind, id and field)."""

    patient_id: str
    name: str
    reason: str


class LoadedCases(list[Case]):
    """The cases a bulk read could validate, in patient-id order, and `unreadable`: the
    patients it left out, each with the reason."""

    def __init__(self, cases: Iterable[Case], unreadable: Iterable[UnreadableCase] = ()) -> None:
        super().__init__(cases)
        self.unreadable: tuple[UnreadableCase, ...] = tuple(unreadable)


def _reason(kind: str, row: Any, exc: ValidationError) -> str:
    """Which record and field failed, and how (pydantic's error type): no input value."""
    err = exc.errors()[0]
    field = ".".join(str(part) for part in err["loc"]) or "record"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{kind} {getattr(row, 'id', '?')}: {field}: {err['type'].replace('_', ' ')}{more}"


def _record(ent: Entity, row: Any) -> Record:
    try:
        return ent.from_row(row)
    except ValidationError as exc:
        raise UnreadableRecordError(_reason(ent.kind, row, exc)) from None


def read_case(conn: sa.Connection, patient_id: str) -> Case:
    """The live patient's whole case; NotFoundError otherwise."""
    p = tables.patients
    row = conn.execute(sa.select(p).where(p.c.id == patient_id, p.c.deleted_at.is_(None))).first()
    if row is None:
        raise NotFoundError(f"no patient {patient_id!r} in the store")
    parts = _parts(conn, patient_id, ENTITIES)
    # Every part was validated row by row; the whole was validated when saved.
    try:
        patient = patient_from_row(row)
    except ValidationError as exc:
        raise UnreadableRecordError(
            f"patient {patient_id!r}: {_reason('patient', row, exc)}"
        ) from None
    return Case.model_construct(patient=patient, **cast("dict[str, Any]", parts))


def read_case_parts(conn: sa.Connection, patient: Patient, collections: Collection[str]) -> Case:
    """`patient`'s case with only `collections` read (e.g. what the red-flag rules look
    at), the others left empty: for a writer that holds the patient's lock and has just
    read the patient. A view of the whole case must use `read_case`."""
    parts: dict[str, list[Record]] = {ent.collection: [] for ent in ENTITIES}
    parts.update(_parts(conn, patient.id, _wanted(collections)))
    return _case_of(patient, parts)


def send_case_parts(
    conn: sa.Connection,
    patient: Patient,
    collections: Collection[str],
    written: Sequence[Record] = (),
) -> Callable[[], Case]:
    """`read_case_parts` with its queries sent at once (inside `pipeline.pipelined`, with
    the writes before them); returns what builds the case, to call after the block.
    `written`: records of the patient inserted in this transaction as they were stored
    (validated and derived before the insert, e.g. `writes.insert_records`' answer): their
    rows read back stand for them as they are, not validated a second time."""
    sent = [
        (ent, send(conn, _live_records(ent), {"patient_id": patient.id}))
        for ent in _wanted(collections)
    ]
    known = {(type(r), r.id): r for r in written}

    def case() -> Case:
        parts: dict[str, list[Record]] = {ent.collection: [] for ent in ENTITIES}
        for ent, rows in sent:
            read = rows()
            checked = iter(
                _validated(ent, [r for r in read if (ent.model, r.id) not in known], patient.id)
            )
            parts[ent.collection] = [known.get((ent.model, r.id)) or next(checked) for r in read]
        return _case_of(patient, parts)

    return case


def _wanted(collections: Collection[str]) -> list[Entity]:
    wanted = [ent for ent in ENTITIES if ent.collection in collections]
    if len(wanted) != len(set(collections)):
        known = ", ".join(ent.collection for ent in ENTITIES)
        raise StoreError(f"collections: {sorted(collections)} are not all of {known}")
    return wanted


def _case_of(patient: Patient, parts: dict[str, list[Record]]) -> Case:
    # every collection given: model_construct resolving a default costs a signature()
    return Case.model_construct(patient=patient, **cast("dict[str, Any]", parts))


@functools.cache
def _live_records(ent: Entity) -> sa.Select[Any]:
    """A patient's live records of `ent`, in order (bound `patient_id`): built once, as
    SQLAlchemy would otherwise rebuild and re-key it on every read."""
    t = ent.table
    return (
        sa.select(t)
        .where(t.c.patient_id == sa.bindparam("patient_id"), t.c.deleted_at.is_(None))
        .order_by(*(t.c[c] for c in ent.order_by))
    )


def _parts(
    conn: sa.Connection, patient_id: str, entities: Iterable[Entity]
) -> dict[str, list[Record]]:
    """The patient's live records of each entity, one query each, every row validated."""
    return {
        ent.collection: _validated(
            ent, conn.execute(_live_records(ent), {"patient_id": patient_id}).all(), patient_id
        )
        for ent in entities
    }


def _validated(ent: Entity, rows: Sequence[Any], patient_id: str) -> list[Record]:
    try:
        return [_record(ent, r) for r in rows]
    except UnreadableRecordError as exc:
        raise UnreadableRecordError(f"patient {patient_id!r}: {exc}") from None


def load_cases(conn: sa.Connection, patient_ids: Iterable[str] | None = None) -> LoadedCases:
    """Many cases at once (all live patients by default), ordered by patient id: one
    query per table (per 500 ids when `patient_ids` is given), not one per patient.
    Ids that are not live patients are left out; a patient with a record that does not
    validate is left out too and listed in `unreadable` (the first reason found)."""
    p = tables.patients
    wanted = None if patient_ids is None else sorted(set(patient_ids))
    chunks: list[Sequence[str] | None] = [None] if wanted is None else list(chunked(wanted))
    heads: list[Any] = []
    parts: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    broken: dict[str, str] = {}
    for chunk in chunks:
        query = sa.select(p).where(p.c.deleted_at.is_(None))
        heads += conn.execute(query if chunk is None else query.where(p.c.id.in_(chunk))).all()
        for ent in ENTITIES:
            t = ent.table
            query = (
                sa.select(t)
                .where(t.c.deleted_at.is_(None))
                .order_by(t.c.patient_id, *(t.c[c] for c in ent.order_by))
            )
            if chunk is not None:
                query = query.where(t.c.patient_id.in_(chunk))
            by_patient = parts[ent.collection]
            for r in conn.execute(query):
                try:
                    by_patient[r.patient_id].append(ent.from_row(r))
                except ValidationError as exc:
                    broken.setdefault(r.patient_id, _reason(ent.kind, r, exc))
    heads.sort(key=lambda r: r.id)
    cases, unreadable = [], []
    for h in heads:
        try:
            patient = patient_from_row(h)
        except ValidationError as exc:
            unreadable.append(UnreadableCase(h.id, "", _reason("patient", h, exc)))
            continue
        if h.id in broken:
            unreadable.append(UnreadableCase(h.id, patient.name, broken[h.id]))
            continue
        collections = {ent.collection: parts[ent.collection].get(h.id, []) for ent in ENTITIES}
        cases.append(Case.model_construct(patient=patient, **cast("dict[str, Any]", collections)))
    return LoadedCases(cases, unreadable)


def page_stamp(conn: sa.Connection, patient_id: str) -> tuple[int, int, str]:
    """What a patient's page depends on in the store, read in one query: the record version
    and the patient's letters (how many, the newest id; a letter does not bump the version).
    NotFoundError for an unknown or deleted patient."""
    p, lt = tables.patients, tables.letters
    live = sa.and_(lt.c.patient_id == p.c.id, lt.c.deleted_at.is_(None))
    query = (
        sa.select(p.c.record_version, sa.func.count(lt.c.id), sa.func.max(lt.c.id))
        .select_from(p.outerjoin(lt, live))
        .where(p.c.id == patient_id, p.c.deleted_at.is_(None))
        .group_by(p.c.id, p.c.record_version)
    )
    row = conn.execute(query).first()
    if row is None:
        raise NotFoundError(f"no patient {patient_id!r} in the store")
    return int(row[0]), int(row[1]), str(row[2] or "")
