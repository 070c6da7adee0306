"""A check-in through its life: answers saved or submitted by the patient's link, the
same-day flags a submission raises, and a practitioner's accept or review.

A submission is one transaction as the patient link: the check-in read under its patient's
lock, the answers checked (every question answered, every answer an offered one), turned
into records (`_form.checkin_records`), written with its claim, and the parts of the case
the rules read (`red_flags.CASE_PARTS`) read back. Once it has committed, the rule engine's
own red flags (`clinical.red_flags`) run on those parts: the same-day or urgent flags
citing the new check-in visit are what the patient is told about at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from casebook.checkins._form import checkin_records, parse_answers
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.clinical.vocabulary import SCREEN_PATIENT_QUESTIONS, Urgency
from casebook.errors import NotFoundError
from casebook.models import Case
from casebook.store import CaseStore, checkin_review
from casebook.store import checkins as rows
from casebook.store.checkins import CheckinKey, StoredCheckin

__all__ = [
    "Submitted",
    "accept",
    "checkins_to_review",
    "mark_reviewed",
    "save_draft",
    "submit",
    "upcoming_visits",
    "visit_to_accept_into",
]


@dataclass(frozen=True)
class Submitted:
    """A submitted check-in and what the patient is told at once: `flags`, the same-day or
    urgent flags citing its answers; of the same-day ones, whether one is about self-harm
    (an instrument's alert, PHQ-9 item 9) and the alarm questions answered yes (in the
    patient's words)."""

    checkin: StoredCheckin
    flags: tuple[RedFlag, ...]
    self_harm: bool = False
    alarms: tuple[str, ...] = ()

    @property
    def urgent(self) -> bool:
        return bool(self.flags)

    @property
    def same_day(self) -> bool:
        """A flag needs the patient seen today: they read what to do now."""
        return any(f.urgency == Urgency.SAME_DAY for f in self.flags)


def save_draft(
    store: CaseStore,
    link_id: str,
    checkin: StoredCheckin | CheckinKey,
    fields: Sequence[tuple[str, str]],
    *,
    now: datetime,
) -> StoredCheckin:
    """Keep the answers so far (blanks allowed), as the patient link."""
    with store.link_transaction(link_id) as tx:
        opened = rows.open_checkin(tx, checkin.id, checkin.patient_id, now)
        draft = parse_answers(store.catalog, opened.checkin.instruments, fields, complete=False)
        return rows.save_draft(tx, opened, draft.answers, draft.free_text, now=now)


def submit(
    store: CaseStore,
    link_id: str,
    checkin: StoredCheckin | CheckinKey,
    fields: Sequence[tuple[str, str]],
    *,
    now: datetime,
) -> Submitted:
    """Record a complete check-in as the patient link, and the flags it raises now.

    One transaction: the check-in is read under its patient's lock (its questions are the
    stored ones), the answers checked (CheckinInputError, nothing written), claimed and
    recorded, and the parts of the case the red-flag rules read are read back; the rules
    then run on those once the transaction has committed, so every flag they report is
    already in the store."""
    with store.link_transaction(link_id) as tx:
        opened = rows.open_checkin(tx, checkin.id, checkin.patient_id, now)
        found = opened.checkin
        draft = parse_answers(store.catalog, found.instruments, fields, complete=True)
        visit, records = checkin_records(
            found.patient_id, draft.answers, on=now.date(), checkin_id=found.id
        )
        saved, case = rows.submit_checkin(
            tx, opened, draft.answers, draft.free_text, records, visit, now=now
        )
    catalog = store.catalog
    raised = red_flags(case, catalog.red_flags, catalog.instruments, catalog.tests)
    pressing = (Urgency.SAME_DAY, Urgency.URGENT)
    flags = tuple(f for f in raised if f.visit_id == visit.id and f.urgency in pressing)
    rules = {r.key: r for r in catalog.red_flags}
    today = [rules[f.key] for f in flags if f.urgency == Urgency.SAME_DAY and f.key in rules]
    return Submitted(
        saved,
        flags,
        self_harm=any(r.kind == "instrument_alert" for r in today),
        alarms=tuple(
            question
            for r in today
            if r.kind == "screen" and (question := SCREEN_PATIENT_QUESTIONS.get(r.field or ""))
        ),
    )


def accept(
    store: CaseStore, checkin_id: str, patient_id: str, visit_id: str
) -> tuple[StoredCheckin, list[str]]:
    """Move a submitted check-in's answers onto a visit (never over what it holds); the
    check-in and what stayed apart because the visit already held it."""
    with store.transaction() as tx:
        return checkin_review.accept_checkin(tx, checkin_id, patient_id, visit_id)


def visit_to_accept_into(case: Case, visit: str) -> str:
    """The id of the case's visit (a practitioner's, not a check-in) that `visit` names: its
    id, or its date (YYYY-MM-DD) when one such visit is on that day. NotFoundError naming the
    visits the record holds, so the next try can be right."""
    held = case.held_visits()
    if any(v.id == visit for v in held):
        return visit
    on = [v for v in held if v.visit_date.isoformat() == visit.strip()]
    if len(on) == 1:
        return on[0].id
    listed = ", ".join(f"{v.visit_date} {v.kind} {v.id}" for v in held) or "none yet"
    what = (
        f"{len(on)} visits on {visit}: give one's id"
        if on
        else (f"no visit {visit!r}" if visit.strip() else "name the visit, by its date or id")
    )
    raise NotFoundError(f"--visit: {what} (the patient's visits: {listed})")


def mark_reviewed(store: CaseStore, checkin_id: str, patient_id: str) -> StoredCheckin:
    """Mark a submitted check-in reviewed; its answers stay on their check-in visit."""
    with store.transaction() as tx:
        return checkin_review.mark_checkin_reviewed(tx, checkin_id, patient_id)


def checkins_to_review(store: CaseStore) -> list[StoredCheckin]:
    """Every live patient's submitted check-ins, oldest first."""
    return store.checkins(status="submitted")


def upcoming_visits(store: CaseStore, visit_before: date, *, today: date) -> list[tuple[str, date]]:
    """(patient id, visit date) of each live patient's next visit from `today` up to and
    including `visit_before`, by date then id."""
    coming: dict[str, date] = {}
    for case in store.load_cases():
        dates = [
            v.visit_date
            for v in case.visits
            if not v.is_checkin and today <= v.visit_date <= visit_before
        ]
        if dates:
            coming[case.patient.id] = min(dates)
    return sorted(coming.items(), key=lambda kv: (kv[1], kv[0]))
