"""Importing a check-in a patient submitted elsewhere, read from a FHIR bundle
(`casebook.checkins.import_bundle` reads and checks it; `casebook checkin import`).

All or nothing, once: the check-in, its ended link, its visit and records, one version bump
and one audit append in the caller's transaction; a check-in id the store already holds
is left as it is, so importing the same bundle again writes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from casebook.errors import StoreError
from casebook.models import InstrumentResponse, SymptomRating, Visit
from casebook.store import tables
from casebook.store.checkins import StoredCheckin, get_checkin
from casebook.store.transaction import Transaction
from casebook.store.writes import insert_records

__all__ = ["import_checkin"]


def import_checkin(
    tx: Transaction,
    checkin_id: str,
    patient_id: str,
    instruments: Sequence[str],
    answers: dict[str, dict[str, Any]],
    free_text: str,
    records: Sequence[InstrumentResponse | SymptomRating],
    visit: Visit,
    *,
    submitted_at: datetime,
) -> StoredCheckin | None:
    """Store a check-in a patient submitted elsewhere (read from a FHIR bundle), with its
    visit and records, to review: None, writing nothing, when the store already holds
    this check-in id (a re-import). Its link is stored already ended (no token for it
    exists: it opens nothing). Audited as the transaction's actor, who imported it; the
    entry says the answers were reported by the patient. NotFoundError for an unknown
    patient, StoreError for a check-in id that is another patient's here."""
    patient = tx.lock_patient(patient_id)
    found = get_checkin(tx.conn, checkin_id)
    if found is not None:
        if found.patient_id != patient_id:
            raise StoreError(f"check-in {checkin_id!r} is another patient's in this store")
        return None
    now = tx.now()
    digest = secrets.token_hex(32)  # the hash of no token
    tx.conn.execute(
        tables.access_tokens.insert(),
        {
            "token_hash": digest,
            "patient_id": patient_id,
            "created_at": submitted_at,
            "expires_at": submitted_at,
            "revoked_at": now,
        },
    )
    row = {
        "id": checkin_id,
        "patient_id": patient_id,
        "token_hash": digest,
        "instruments": list(instruments),
        "due_on": None,
        "created_at": submitted_at,
        "expires_at": submitted_at,
        "status": "submitted",
        "answers": answers,
        "free_text": free_text,
        "saved_at": submitted_at,
        "submitted_at": submitted_at,
        "visit_id": visit.id,
        "version": 1,
    }
    tx.conn.execute(tables.checkins.insert(), row)
    _, audit = insert_records(tx, patient, [visit, *records])
    tx.bump_version(patient_id)
    detail = {"answers": answers, "free_text": free_text, "visit": visit.id}
    detail.update(reported_by="patient", submitted_at=submitted_at.isoformat())
    tx.audit_many([*audit, (patient_id, "checkin", checkin_id, "import", None, detail)])
    stored = get_checkin(tx.conn, checkin_id)
    if stored is None:  # pragma: no cover - written in this very transaction
        raise StoreError(f"check-in {checkin_id!r} vanished while it was written")
    return stored
