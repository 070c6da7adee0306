"""A submitted check-in brought back from a FHIR bundle (what `casebook checkin export`
writes), e.g. into a fresh store or from another clinic's casebook.

    stored, new = import_bundle(store, json.loads(text))

The bundle is read by `casebook.interop.fhir_checkins` (CheckinFhirError naming the entry
and field), its answers checked exactly as a posted form's (`parse_answers`, every question
answered: CheckinInputError naming the field), and stored in one transaction
(`casebook.store.checkin_import`): all of it or nothing, once per check-in id.
"""

from __future__ import annotations

from typing import Any

from casebook.checkins._form import checkin_records, parse_answers
from casebook.errors import NotFoundError
from casebook.interop.fhir_checkins import CheckinFhirError, submitted_from_bundle
from casebook.store import CaseStore
from casebook.store.checkin_import import import_checkin
from casebook.store.checkins import StoredCheckin

__all__ = ["import_bundle"]


def import_bundle(store: CaseStore, bundle: Any) -> tuple[StoredCheckin, bool]:
    """Store the submitted check-in in `bundle` to review, as the store's actor (who
    imports it; the audit entry says the patient reported the answers). Returns it and
    whether it is new: False when the store already held it, and nothing was written."""
    read = submitted_from_bundle(bundle, store.catalog)
    draft = parse_answers(store.catalog, read.instruments, read.fields, complete=True)
    visit, records = checkin_records(
        read.patient_id, draft.answers, on=read.authored.date(), checkin_id=read.checkin_id
    )
    try:
        with store.transaction() as tx:
            stored = import_checkin(
                tx,
                read.checkin_id,
                read.patient_id,
                read.instruments,
                draft.answers,
                draft.free_text,
                records,
                visit,
                submitted_at=read.authored,
            )
    except NotFoundError:
        raise CheckinFhirError(
            f"bundle: subject: no patient {read.patient_id[:64]!r} in this store"
        ) from None
    if stored is None:
        held = store.checkin(read.checkin_id)
        if held is None:  # pragma: no cover - it was there a moment ago
            raise CheckinFhirError(f"bundle: check-in {read.checkin_id!r} vanished")
        return held, False
    return stored, True
