"""The patient's page never says "today" after that day (issue 19 item 6): the same-day
review item (PHQ-9 item 9) reads as written on its day, then asks the patient to get in
touch while the flag is open, and neither asks nor promises once it is acknowledged."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from casebook import dashboard as d
from casebook.catalog import default_catalog
from casebook.clinical.red_flags import red_flags
from casebook.clinical.vocabulary import GET_IN_TOUCH
from casebook.models import (
    AlarmScreen,
    Case,
    FlagReview,
    InstrumentResponse,
    Patient,
    Visit,
)
from tests.plan_items import same_day_review_item

CATALOG = default_catalog()
DAY = date(2025, 1, 10)
PID = "mood-1"


def _case(reviews: list[FlagReview]) -> Case:
    visit = Visit(patient_id=PID, visit_date=DAY, kind="intake", screen=AlarmScreen())
    answers = {str(i): 0 for i in range(1, 10)} | {"9": 1}
    return Case(
        patient=Patient(id=PID, name="Mood Test", birth_date=date(1990, 1, 1), sex="male"),
        visits=[visit],
        instruments=[
            InstrumentResponse(
                patient_id=PID, visit_id=visit.id, instrument="phq9", answers=answers
            )
        ],
        plan=[same_day_review_item(PID, DAY)],
        flag_reviews=reviews,
    )


def _plan_text(case: Case, today: date) -> str:
    flags = red_flags(case, CATALOG.red_flags, CATALOG.instruments, CATALOG.tests, today=today)
    assert [f.key for f in flags] == ["phq9_self_harm"]
    html = d.plan_section(d.Dashboard(case, CATALOG, flags, today)).html
    return re.sub(r'src="data:[^"]*"', "", html)


def test_on_the_day_the_page_says_today() -> None:
    assert "A clinician will talk with you today" in _plan_text(_case([]), DAY)


@pytest.mark.parametrize("later", [1, 15, 60])
def test_after_the_day_it_never_does(later: int) -> None:
    text = _plan_text(_case([]), DAY + timedelta(days=later))
    assert "today" not in text.lower()
    assert GET_IN_TOUCH in text


def test_acknowledged_it_neither_asks_nor_promises() -> None:
    review = FlagReview(
        patient_id=PID,
        rule_key="phq9_self_harm",
        state="acknowledged",
        note="Spoke on the phone; safety plan agreed.",
        at=datetime(2025, 1, 10, 16, tzinfo=UTC),
        evidence_on=DAY,
        actor="ann",
    )
    text = _plan_text(_case([review]), DAY + timedelta(days=3))
    assert "today" not in text.lower()
    assert GET_IN_TOUCH not in text
    assert "Thank you for answering honestly." in text
