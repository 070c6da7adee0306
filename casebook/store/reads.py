"""Bulk reads and results reviewed, bound as `CaseStore` methods (`store.load_cases`,
`store.mark_results_reviewed`, `store.patients_changed_by`), for the clinic view and bulk
imports (`store.birth_and_sex`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

import sqlalchemy as sa

from casebook.models import Case, Record, TestResult
from casebook.store import tables
from casebook.store.errors import NotFoundError
from casebook.store.records import ENTITIES, any_of, chunked, entity_for, patient_from_row

if TYPE_CHECKING:
    from casebook.store.casestore import CaseStore

__all__ = [
    "birth_and_sex", "load_cases", "mark_results_reviewed", "page_stamp", "patients_changed_by",
    "review_cleared",
]


def birth_and_sex(store: CaseStore, patient_ids: Iterable[str]) -> dict[str, tuple[date, str]]:
    """(birth date, sex) of each of `patient_ids` that is a live patient: what a bulk
    import of results checks, without building a `Patient` for each (`existing_patients`
    does, at about 10 µs apiece)."""
    p = tables.patients
    with store._read() as conn:
        return {r.id: (r.birth_date, r.sex) for r in conn.execute(
            sa.select(p.c.id, p.c.birth_date, p.c.sex)
            .where(any_of(conn, p.c.id, sorted(set(patient_ids))), p.c.deleted_at.is_(None)))}


def load_cases(store: CaseStore, patient_ids: Iterable[str] | None = None) -> list[Case]:
    """Many cases at once (all live patients by default), ordered by patient id: one
    query per table (per 500 ids when `patient_ids` is given), not one per patient.
    Ids that are not live patients are left out."""

    p = tables.patients
    wanted = None if patient_ids is None else sorted(set(patient_ids))
    chunks: list[Sequence[str] | None] = (
        [None] if wanted is None else list(chunked(wanted)))
    heads: list[Any] = []
    parts: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    with store._read() as conn:
        for chunk in chunks:
            query = sa.select(p).where(p.c.deleted_at.is_(None))
            heads += conn.execute(
                query if chunk is None else query.where(p.c.id.in_(chunk))).all()
            for ent in ENTITIES:
                t = ent.table
                query = sa.select(t).where(t.c.deleted_at.is_(None)).order_by(
                    t.c.patient_id, *(t.c[c] for c in ent.order_by))
                if chunk is not None:
                    query = query.where(t.c.patient_id.in_(chunk))
                by_patient = parts[ent.collection]
                for r in conn.execute(query):
                    by_patient[r.patient_id].append(ent.from_row(r))
    heads.sort(key=lambda r: r.id)
    return [Case.model_construct(patient=patient_from_row(h), **cast("dict[str, Any]", {
        ent.collection: parts[ent.collection].get(h.id, []) for ent in ENTITIES}))
        for h in heads]


def mark_results_reviewed(
    store: CaseStore, patient_id: str, result_ids: Iterable[str] | Literal["all"] = "all"
) -> list[TestResult]:
    """Mark results of one patient reviewed by the store's actor, now: the given ids,
    or "all" not yet reviewed. One audit entry per result; results already reviewed
    are left as they are. Returns the results newly marked. An id that is not a live
    result of this patient raises NotFoundError and nothing is written."""
    ent = entity_for(TestResult)
    t = ent.table
    with store._transaction() as conn:
        store._lock_patient(conn, patient_id)
        query = sa.select(t).where(t.c.patient_id == patient_id, t.c.deleted_at.is_(None))
        found = {r.id: ent.from_row(r) for r in conn.execute(query)}
        if result_ids == "all":
            chosen = list(found.values())
        else:
            ids = list(dict.fromkeys(result_ids))
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFoundError(f"no result {missing[0]!r} for patient {patient_id!r}")
            chosen = [found[i] for i in ids]
        now, done = datetime.now(UTC), []
        for current in chosen:
            if not isinstance(current, TestResult) or current.reviewed_at is not None:
                continue
            new = current.model_copy(update={"reviewed_at": now, "reviewed_by": store.actor,
                                             "version": current.version + 1})
            conn.execute(sa.update(t).where(t.c.id == new.id).values(
                reviewed_at=now, reviewed_by=store.actor, version=new.version))
            store._audit(conn, patient_id, ent.kind, new.id, "review",
                        ent.to_json(current), ent.to_json(new))
            done.append(new)
        if done:
            store._bump(conn, patient_id)
    return done

def patients_changed_by(store: CaseStore, actor: str) -> set[str]:
    """The patients whose record `actor` has changed (from the audit log), in one query."""
    a = tables.audit_log
    with store._read() as conn:
        return set(conn.execute(sa.select(a.c.patient_id).distinct().where(
            a.c.actor == actor, a.c.patient_id.is_not(None))).scalars())


_RESULT_VALUE = ("test", "collected_on", "value", "value_text", "unit", "ref_low", "ref_high")


def _result_value(record: Record) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in _RESULT_VALUE)


def review_cleared(record: Record, current: Record) -> Record:
    """`record` as it should be saved over `current`: a result whose value changed is a new
    result to review, so its review is cleared."""
    if isinstance(record, TestResult) and record.reviewed_at is not None \
            and _result_value(record) != _result_value(current):
        return record.model_copy(update={"reviewed_at": None, "reviewed_by": None})
    return record


def page_stamp(store: CaseStore, patient_id: str) -> tuple[int, int, str]:
    """What a patient's page depends on in the store, read in one query: the record version
    and the patient's letters (how many, the newest id; a letter does not bump the version).
    NotFoundError for an unknown or deleted patient."""
    p, lt = tables.patients, tables.letters
    live = sa.and_(lt.c.patient_id == p.c.id, lt.c.deleted_at.is_(None))
    query = (sa.select(p.c.record_version, sa.func.count(lt.c.id), sa.func.max(lt.c.id))
             .select_from(p.outerjoin(lt, live))
             .where(p.c.id == patient_id, p.c.deleted_at.is_(None))
             .group_by(p.c.id, p.c.record_version))
    with store._read() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise NotFoundError(f"no patient {patient_id!r} in the store")
    return int(row[0]), int(row[1]), str(row[2] or "")
