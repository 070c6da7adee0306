"""Reading cases: one case (`read_case`, also inside a write), many at once for the
clinic view and the batch (`load_cases`), and the stamp a patient's page depends on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, cast

import sqlalchemy as sa

from casebook.errors import NotFoundError
from casebook.models import Case, Record
from casebook.store import tables
from casebook.store.records import ENTITIES, chunked, patient_from_row

__all__ = ["load_cases", "page_stamp", "read_case"]


def read_case(conn: sa.Connection, patient_id: str) -> Case:
    """The live patient's whole case; NotFoundError otherwise."""
    p = tables.patients
    row = conn.execute(sa.select(p).where(p.c.id == patient_id, p.c.deleted_at.is_(None))).first()
    if row is None:
        raise NotFoundError(f"no patient {patient_id!r} in the store")
    parts: dict[str, list[Record]] = {}
    for ent in ENTITIES:
        t = ent.table
        rows = conn.execute(
            sa.select(t)
            .where(t.c.patient_id == patient_id, t.c.deleted_at.is_(None))
            .order_by(*(t.c[c] for c in ent.order_by))
        ).all()
        parts[ent.collection] = [ent.from_row(r) for r in rows]
    # Every part was validated row by row; the whole was validated when saved.
    return Case.model_construct(patient=patient_from_row(row), **cast("dict[str, Any]", parts))


def load_cases(conn: sa.Connection, patient_ids: Iterable[str] | None = None) -> list[Case]:
    """Many cases at once (all live patients by default), ordered by patient id: one
    query per table (per 500 ids when `patient_ids` is given), not one per patient.
    Ids that are not live patients are left out."""
    p = tables.patients
    wanted = None if patient_ids is None else sorted(set(patient_ids))
    chunks: list[Sequence[str] | None] = [None] if wanted is None else list(chunked(wanted))
    heads: list[Any] = []
    parts: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
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
                by_patient[r.patient_id].append(ent.from_row(r))
    heads.sort(key=lambda r: r.id)
    return [
        Case.model_construct(
            patient=patient_from_row(h),
            **cast(
                "dict[str, Any]",
                {ent.collection: parts[ent.collection].get(h.id, []) for ent in ENTITIES},
            ),
        )
        for h in heads
    ]


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
