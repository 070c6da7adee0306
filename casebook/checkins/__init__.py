"""Patient check-ins: what a patient fills in before a visit, through their private link.

    from casebook.checkins import form_sections, submit, accept
    sections = form_sections(store.catalog, ["phq9", "gad7", "symptoms", "bristol"])

The form comes from the catalog's instrument files (wording, order, options, licences) and
its symptom inventory; answers are checked here (`parse_answers`), written by the store
(`casebook.store.checkins`) as the patient link, and scored and flagged by the same rules
as the workbook's entries. `casebook.serve` serves the form; `casebook checkin` sends it.
"""

from __future__ import annotations

from casebook.checkins._form import (
    ALARMS,
    FREE_TEXT_MAX,
    SYMPTOMS,
    Answers,
    CheckinInputError,
    Draft,
    Question,
    Section,
    check_instruments,
    checkin_records,
    form_sections,
    parse_answers,
    scores,
)
from casebook.checkins._import import import_bundle
from casebook.checkins._pages import STYLE_HASH, form_page, message_page, safety_page
from casebook.checkins._record import (
    Submitted,
    accept,
    checkins_to_review,
    mark_reviewed,
    save_draft,
    submit,
    upcoming_visits,
    visit_to_accept_into,
)

__all__ = [
    "ALARMS",
    "FREE_TEXT_MAX",
    "STYLE_HASH",
    "SYMPTOMS",
    "Answers",
    "CheckinInputError",
    "Draft",
    "Question",
    "Section",
    "Submitted",
    "accept",
    "check_instruments",
    "checkin_records",
    "checkins_to_review",
    "form_page",
    "form_sections",
    "import_bundle",
    "mark_reviewed",
    "message_page",
    "parse_answers",
    "safety_page",
    "save_draft",
    "scores",
    "submit",
    "upcoming_visits",
    "visit_to_accept_into",
]
