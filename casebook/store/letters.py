"""Letters kept with a case. A letter is only ever added, audited in one entry without its
PDF body, and does not bump the record version."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa

from casebook.errors import StoreError
from casebook.models import LetterRecord
from casebook.store import tables
from casebook.store.records import entity_for
from casebook.store.transaction import Transaction
from casebook.store.writes import integrity_message

__all__ = ["read_letters", "save_letter"]


def save_letter(tx: Transaction, letter: LetterRecord) -> LetterRecord:
    """Keep a new letter with its case, audited in one entry (without the PDF body).

    The record version is not bumped: a letter is made from the record, it does not
    change it, so making the same letter again gives the same content hash."""
    if letter.version:
        raise StoreError(f"letter {letter.id!r}: a letter is never edited; make a new one")
    ent = entity_for(LetterRecord)
    tx.lock_patient(letter.patient_id)
    new = letter.model_copy(
        update={"version": 1, "created_by": letter.created_by or tx.actor, "created_at": tx.now()}
    )
    try:
        with tx.conn.begin_nested():
            tx.conn.execute(ent.table.insert(), ent.to_row(new))
    except sa.exc.IntegrityError as exc:
        raise StoreError(integrity_message(ent.kind, new, exc)) from None
    tx.audit(new.patient_id, ent.kind, new.id, "create", None, ent.to_json(new))
    return new


def read_letters(
    conn: sa.Connection, patient_id: str, kind: str | None = None, *, newest_only: bool = False
) -> list[LetterRecord]:
    """The patient's letters (of one kind if given), oldest first; with `newest_only`,
    only the newest (by letter date, then when made)."""
    t = tables.letters
    query = sa.select(t).where(t.c.patient_id == patient_id, t.c.deleted_at.is_(None))
    if kind is not None:
        query = query.where(t.c.kind == kind)
    order = (t.c.letter_date, t.c.created_at, t.c.id)
    if newest_only:
        query = query.order_by(*(c.desc() for c in order)).limit(1)
    else:
        query = query.order_by(*order)
    ent = entity_for(LetterRecord)
    return [cast(LetterRecord, ent.from_row(r)) for r in conn.execute(query)]
