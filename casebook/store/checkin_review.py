"""A practitioner's side of a submitted check-in: accepted into a visit (each answer moves
onto that visit unless the visit already holds that instrument or symptom: what a
practitioner entered is never overwritten) or marked reviewed (the check-in visit stays as
its own data point). Each under the patient's lock, audited as the store's actor.
"""

from __future__ import annotations

from casebook.errors import CheckinClosed, NotFoundError
from casebook.models import InstrumentResponse, Record, SymptomRating, Visit, new_id
from casebook.store.checkins import StoredCheckin, get_checkin, update_checkin
from casebook.store.reads import read_case
from casebook.store.transaction import Transaction
from casebook.store.writes import delete_record, save_record

__all__ = ["accept_checkin", "mark_checkin_reviewed"]


def _reviewable(tx: Transaction, checkin_id: str, patient_id: str) -> StoredCheckin:
    tx.lock_patient(patient_id)
    found = get_checkin(tx.conn, checkin_id)
    if found is None or found.patient_id != patient_id:
        raise NotFoundError(f"no check-in {checkin_id!r} for patient {patient_id!r}")
    if found.status != "submitted":
        raise CheckinClosed(f"is {found.status}, not waiting for review")
    return found


def accept_checkin(
    tx: Transaction, checkin_id: str, patient_id: str, visit_id: str
) -> tuple[StoredCheckin, list[str]]:
    """Move a submitted check-in's answers onto the patient's visit `visit_id`, except an
    instrument or symptom that visit already holds (kept on the check-in visit: nothing a
    practitioner entered is overwritten); the check-in visit goes when it is left empty.
    Returns the check-in and what was kept apart. Audited as the store's actor."""
    found = _reviewable(tx, checkin_id, patient_id)
    case = read_case(tx.conn, patient_id)
    target = next((v for v in case.visits if v.id == visit_id), None)
    if target is None or target.is_checkin:
        raise NotFoundError(f"visit_id: {visit_id!r} is not a visit of patient {patient_id!r}")
    moved: list[Record] = []
    kept: list[str] = []
    answered: list[tuple[InstrumentResponse | SymptomRating, str]] = [
        (r, r.instrument) for r in case.instruments
    ]
    rated: list[tuple[InstrumentResponse | SymptomRating, str]] = [
        (r, r.symptom) for r in case.symptoms
    ]
    for records in (answered, rated):
        held = {what for r, what in records if r.visit_id == visit_id}
        for answer, what in records:
            if answer.visit_id != found.visit_id:
                continue
            if what in held:  # the practitioner's entry stays; this one stays apart
                kept.append(what)
            else:
                moved.append(answer)
    for record in moved:
        delete_record(tx, record)
        save_record(
            tx, record.model_copy(update={"id": new_id(), "version": 0, "visit_id": visit_id})
        )
    checkin_visit = next((v for v in case.visits if v.id == found.visit_id), None)
    if checkin_visit is not None:  # alarm answers: onto the visit's screen, where unasked
        kept += _merge_screen(tx, checkin_visit, target)
    if checkin_visit is not None and not kept:
        delete_record(tx, checkin_visit)
    accepted = update_checkin(
        tx,
        found,
        status="accepted",
        accepted_into=visit_id,
        reviewed_by=tx.actor,
        reviewed_at=tx.now(),
    )
    tx.audit(patient_id, "checkin", checkin_id, "accept", None, {"visit": visit_id, "kept": kept})
    return accepted, kept


def _merge_screen(tx: Transaction, checkin_visit: Visit, target: Visit) -> list[str]:
    """Put the check-in visit's alarm answers on `target`'s screen where it has none
    (saved, audited); the questions it already answered, kept apart."""
    answered = checkin_visit.screen.model_dump(exclude_none=True)
    held = target.screen.model_dump(exclude_none=True)
    merged = {name: value for name, value in answered.items() if name not in held}
    if merged:
        screen = target.screen.model_copy(update=merged)
        save_record(tx, target.model_copy(update={"screen": screen}))
    return [f"screen {name}" for name in answered if name in held]


def mark_checkin_reviewed(tx: Transaction, checkin_id: str, patient_id: str) -> StoredCheckin:
    """Mark a submitted check-in reviewed, its answers staying on their check-in visit."""
    found = _reviewable(tx, checkin_id, patient_id)
    reviewed = update_checkin(
        tx, found, status="reviewed", reviewed_by=tx.actor, reviewed_at=tx.now()
    )
    tx.audit(patient_id, "checkin", checkin_id, "review", None, {"status": "reviewed"})
    return reviewed
