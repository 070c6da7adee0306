"""The red-flag lifecycle in the store: steps are rows of `flag_reviews`, appended and audited.

`CaseStore.review_flag` and `flag_reviews` call these; the states and the rules for moving
between them are `casebook.clinical.flag_lifecycle`'s (pure).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any, cast

import sqlalchemy as sa

from casebook.clinical.flag_lifecycle import case_flag_statuses, check_step
from casebook.models import FlagReview
from casebook.store import tables
from casebook.store.reads import read_case
from casebook.store.records import chunked, entity_for
from casebook.store.transaction import Transaction

__all__ = ["STEP_ACTIONS", "read_flag_reviews", "record_step"]

STEP_ACTIONS = {"acknowledged": "acknowledge", "referred": "refer", "resolved": "resolve"}
"""The audit log's action for each step."""


def record_step(
    tx: Transaction,
    patient_id: str,
    rule_key: str,
    state: str,
    *,
    note: str = "",
    referred_to: str = "",
    outcome: str = "",
    today: date | None = None,
) -> FlagReview:
    """Record one step of a raised red flag: 'acknowledged' (a note is optional),
    'referred' (needs `referred_to`) or 'resolved' (needs `outcome`). The step is checked
    against the flags raised now, then appended and audited; a rule not raised now, or a
    step its state does not allow, is an InputError in one line."""
    tx.lock_patient(patient_id)  # one writer per case until the commit
    case = read_case(tx.conn, patient_id)
    status = check_step(
        case_flag_statuses(case, tx.catalog, today=today),
        rule_key,
        state,
        referred_to=referred_to,
        outcome=outcome,
    )
    review = FlagReview(
        patient_id=patient_id,
        version=1,
        rule_key=rule_key,
        state=state,
        note=note,
        referred_to=referred_to,
        outcome=outcome,
        actor=tx.actor,
        at=tx.now(),
        evidence_on=status.flag.on,
    )
    ent = entity_for(FlagReview)
    tx.conn.execute(ent.table.insert(), ent.to_row(review))
    tx.bump_version(patient_id)
    tx.audit(
        patient_id,
        ent.kind,
        review.id,
        STEP_ACTIONS[state],
        None,
        ent.to_json(review) | {"label": status.flag.label},
    )
    return review


def read_flag_reviews(
    conn: sa.Connection, patient_ids: Sequence[str] | None = None
) -> dict[str, list[FlagReview]]:
    """Live steps by patient id, oldest first; every patient asked for has an entry."""
    t, p = tables.flag_reviews, tables.patients
    query = (
        sa.select(t)
        .join(p, p.c.id == t.c.patient_id)
        .where(t.c.deleted_at.is_(None), p.c.deleted_at.is_(None))
        .order_by(t.c.patient_id, t.c.at, t.c.id)
    )
    out: dict[str, list[FlagReview]] = defaultdict(list)
    if patient_ids is not None:
        wanted = sorted(set(patient_ids))
        out.update((pid, []) for pid in wanted)
        for chunk in chunked(wanted):
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
