"""The after-visit summary follows the red-flag lifecycle (issue 19 item 6): "please get in
touch" only while a flag needs contact, a flagged value never "within the usual range", and
no plan item's words saying "today" (the summary is read after its day). Read from the PDF."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from letters_helpers import pdf_text

from casebook.catalog import Catalog
from casebook.clinical.vocabulary import GET_IN_TOUCH, RESULT_DISCUSS_WORDS
from casebook.letters import ClinicSettings, after_visit_summary, to_pdf
from casebook.models import AlarmScreen, Case, FlagReview, Patient, TestResult, Visit
from tests.plan_items import same_day_review_item

DAY = date(2025, 2, 3)
PID = "iron-2"


def _case(catalog: Catalog, *, hemoglobin: float, reviews: list[FlagReview]) -> Case:
    results = [
        TestResult(patient_id=PID, test=test, value=value, unit=unit, collected_on=DAY, **rng)
        for test, value, unit, rng in (
            ("ferritin", 38.0, "ng/mL", {"ref_low": 30.0}),
            ("hemoglobin", hemoglobin, "g/dL", {"ref_low": 12.0}),
        )
    ]
    return Case(
        patient=Patient(id=PID, name="Iron Summary", birth_date=date(1990, 1, 1), sex="female"),
        visits=[Visit(patient_id=PID, visit_date=DAY, kind="intake", screen=AlarmScreen())],
        results=results,
        plan=[same_day_review_item(PID, DAY)],
        flag_reviews=reviews,
    )


def _resolved(rule: str) -> FlagReview:
    return FlagReview(
        patient_id=PID,
        rule_key=rule,
        state="resolved",
        outcome="Seen by the GP; iron started.",
        at=datetime(2025, 2, 4, tzinfo=UTC),
        evidence_on=DAY,
        actor="ann",
    )


def _text(case: Case, catalog: Catalog, settings: ClinicSettings) -> str:
    return pdf_text(to_pdf(after_visit_summary(case, catalog, settings)))


def test_an_open_flag_asks_and_its_value_is_not_usual(
    catalog: Catalog, settings: ClinicSettings
) -> None:
    text = _text(_case(catalog, hemoglobin=11.0, reviews=[]), catalog, settings)
    ferritin = text.split("Ferritin")[1].split(".")[0]
    assert "within the usual range" not in ferritin
    assert RESULT_DISCUSS_WORDS in text
    assert f"{GET_IN_TOUCH}." in text
    assert "today" not in text.lower()  # the same-day item's words included


def test_without_a_flag_the_value_is_usual(catalog: Catalog, settings: ClinicSettings) -> None:
    """The other side: hemoglobin 13.5 raises nothing, so ferritin 38 reads as usual."""
    text = _text(_case(catalog, hemoglobin=13.5, reviews=[]), catalog, settings)
    assert "within the usual range" in text.split("Ferritin")[1].split(".")[0]
    assert GET_IN_TOUCH not in text


@pytest.mark.parametrize("all_resolved", [True, False])
def test_resolved_flags_stop_asking(
    catalog: Catalog, settings: ClinicSettings, all_resolved: bool
) -> None:
    rules = ["anemia", "iron_deficiency_anemia"][: 2 if all_resolved else 1]
    case = _case(catalog, hemoglobin=11.0, reviews=[_resolved(r) for r in rules])
    text = _text(case, catalog, settings)
    assert (GET_IN_TOUCH in text) is not all_resolved
    ferritin = text.split("Ferritin")[1].split(".")[0]
    assert "within the usual range" not in ferritin
    assert ("has looked at this result" in ferritin) is all_resolved
