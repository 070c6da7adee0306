"""Letters kept with a case: the `CaseStore` methods `save_letter`, `letters` and
`latest_letter` (bound there). A letter is only ever added, audited in one entry without its
PDF body, and does not bump the record version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import sqlalchemy as sa

from casebook.models import LetterRecord
from casebook.store import tables
from casebook.store.engine import StoreError
from casebook.store.errors import integrity_message
from casebook.store.records import entity_for

if TYPE_CHECKING:
    from casebook.store.casestore import CaseStore

__all__ = ["latest_letter", "letters", "save_letter"]


def save_letter(self: CaseStore, letter: LetterRecord) -> LetterRecord:
    """Keep a new letter with its case, audited in one entry (without the PDF body).

    The record version is not bumped: a letter is made from the record, it does not
    change it, so making the same letter again gives the same content hash."""
    if letter.version:
        raise StoreError(f"letter {letter.id!r}: a letter is never edited; make a new one")
    ent = entity_for(LetterRecord)
    with self._transaction() as conn:
        self._lock_patient(conn, letter.patient_id)
        new = letter.model_copy(
            update={"version": 1, "created_by": letter.created_by or self.actor,
                    "created_at": datetime.now(UTC)}
        )
        try:
            with conn.begin_nested():
                conn.execute(ent.table.insert(), ent.to_row(new))
        except sa.exc.IntegrityError as exc:
            raise StoreError(integrity_message(ent.kind, new, exc)) from None
        self._audit(conn, new.patient_id, ent.kind, new.id, "create", None, ent.to_json(new))
    return new


def letters(self: CaseStore, patient_id: str, kind: str | None = None) -> list[LetterRecord]:
    """The patient's letters (of one kind if given), oldest first."""
    return _letters(self, patient_id, kind, newest_only=False)


def latest_letter(self: CaseStore, patient_id: str, kind: str) -> LetterRecord | None:
    """The newest letter of `kind` for the patient (by letter date, then when made)."""
    found = _letters(self, patient_id, kind, newest_only=True)
    return found[0] if found else None


def _letters(self: CaseStore, patient_id: str, kind: str | None, *, newest_only: bool
             ) -> list[LetterRecord]:
    t = tables.letters
    query = sa.select(t).where(t.c.patient_id == patient_id, t.c.deleted_at.is_(None))
    if kind is not None:
        query = query.where(t.c.kind == kind)
    order = (t.c.letter_date, t.c.created_at, t.c.id)
    if newest_only:
        query = query.order_by(*(c.desc() for c in order)).limit(1)
    else:
        query = query.order_by(*order)
    with self._read() as conn:
        rows = conn.execute(query).all()
    ent = entity_for(LetterRecord)
    return [cast(LetterRecord, ent.from_row(r)) for r in rows]
