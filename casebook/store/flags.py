"""The red-flag lifecycle in the store: steps are rows of `flag_reviews`, appended and audited.

`CaseStore.review_flag`, `flag_statuses` and `flag_reviews` call these; the states and the
rules for moving between them are `casebook.clinical.flag_lifecycle`'s (pure).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa

from casebook.clinical.flag_lifecycle import FlagStatus, case_flag_statuses, check_step
from casebook.models import FlagReview
from casebook.store import tables
from casebook.store.records import entity_for

if TYPE_CHECKING:
    from casebook.store.casestore import CaseStore

__all__ = [
    "STEP_ACTIONS", "flag_reviews", "flag_statuses", "read_flag_reviews", "record_step",
    "review_flag",
]

STEP_ACTIONS = {"acknowledged": "acknowledge", "referred": "refer", "resolved": "resolve"}
"""The audit log's action for each step."""


def record_step(
    store: CaseStore,
    conn: sa.Connection,
    patient_id: str,
    rule_key: str,
    state: str,
    *,
    note: str = "",
    referred_to: str = "",
    outcome: str = "",
    today: date | None = None,
) -> FlagReview:
    """Check the step against the flags raised now, then append and audit it."""
    store._lock_patient(conn, patient_id)  # one writer per case until the commit
    case = store._load_case_in(conn, patient_id)
    status = check_step(case_flag_statuses(case, store.catalog, today=today), rule_key, state,
                        referred_to=referred_to, outcome=outcome)
    review = FlagReview(
        patient_id=patient_id, version=1, rule_key=rule_key, state=state,
        note=note, referred_to=referred_to, outcome=outcome, actor=store.actor,
        at=datetime.now(UTC), evidence_on=status.flag.on,
    )
    ent = entity_for(FlagReview)
    conn.execute(ent.table.insert(), ent.to_row(review))
    store._bump(conn, patient_id)
    store._audit(conn, patient_id, ent.kind, review.id, STEP_ACTIONS[state], None,
                 ent.to_json(review) | {"label": status.flag.label})
    return review


def read_flag_reviews(
    conn: sa.Connection, patient_ids: Sequence[str] | None = None
) -> dict[str, list[FlagReview]]:
    """Live steps by patient id, oldest first; every patient asked for has an entry."""
    t, p = tables.flag_reviews, tables.patients
    query = (sa.select(t).join(p, p.c.id == t.c.patient_id)
             .where(t.c.deleted_at.is_(None), p.c.deleted_at.is_(None))
             .order_by(t.c.patient_id, t.c.at, t.c.id))
    out: dict[str, list[FlagReview]] = defaultdict(list)
    if patient_ids is not None:
        wanted = sorted(set(patient_ids))
        out.update((pid, []) for pid in wanted)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = conn.execute(query.where(t.c.patient_id.in_(chunk))).all()
            _collect(out, rows)
    else:
        _collect(out, conn.execute(query).all())
    return dict(out)


def _collect(out: dict[str, list[FlagReview]], rows: Sequence[sa.Row[Any]]) -> None:
    ent = entity_for(FlagReview)
    for row in rows:
        review = ent.from_row(row)
        out[review.patient_id].append(cast(FlagReview, review))


# --- CaseStore methods (attached in casestore.py) -------------------------------------


def review_flag(self: CaseStore, patient_id: str, rule_key: str, state: str, *, note: str = "",
                referred_to: str = "", outcome: str = "") -> FlagReview:
    """Record one step of a raised red flag: 'acknowledged' (a note is optional),
    'referred' (needs `referred_to`) or 'resolved' (needs `outcome`), in one audited
    transaction. A rule not raised now, or a step its state does not allow, is an
    InputError in one line; nothing is written."""
    with self._transaction() as conn:
        return record_step(self, conn, patient_id, rule_key, state, note=note,
                           referred_to=referred_to, outcome=outcome)


def flag_statuses(
    self: CaseStore, patient_id: str, *, today: date | None = None
) -> list[FlagStatus]:
    """The patient's raised flags with their state, open ones first."""
    return case_flag_statuses(self.load_case(patient_id), self.catalog, today=today)


def flag_reviews(self: CaseStore, patient_ids: Sequence[str] | None = None
                 ) -> dict[str, list[FlagReview]]:
    """Live steps by patient id, oldest first (all patients, or those asked for: each
    has an entry, empty when none); combine with `clinical.flag_lifecycle.flag_statuses`."""
    with self._read() as conn:
        return read_flag_reviews(conn, patient_ids)
