"""The after-visit summary: the patient's own words, every section in the PDF, nothing
written for the practitioner."""

from __future__ import annotations

from datetime import date

import pytest
from letters_helpers import XSS, pdf_text

from casebook.catalog import Catalog
from casebook.letters import ClinicSettings, LetterError, after_visit_summary, to_pdf
from casebook.models import Case, TestOrder


@pytest.fixture(scope="module")
def case(alarm_case: Case) -> Case:
    first = alarm_case.sorted_visits()[0]
    order = TestOrder(
        patient_id=alarm_case.patient.id,
        test="calprotectin",
        ordered_on=first.visit_date,
        status="ordered",
    )
    return alarm_case.model_copy(update={"orders": [*alarm_case.orders, order]})


def test_every_section_is_in_the_pdf(
    case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    visits = case.sorted_visits()
    letter = after_visit_summary(case, catalog, settings, visit_date=visits[1].visit_date)
    assert (letter.kind, letter.date, letter.recipient) == (
        "after_visit_summary",
        visits[1].visit_date,
        case.patient.name,
    )
    text = pdf_text(to_pdf(letter))
    rated = {r.symptom for r in case.symptoms if r.visit_id == visits[1].id and r.severity}
    label = next(s.patient_label for s in catalog.symptoms if s.key in rated)
    nxt = visits[2].visit_date
    expected = [
        "Example Digestive Health Clinic",
        f"Dear {case.patient.name},",
        "What we found at your visit",
        label,
        "at your first visit",
        "Your questionnaires",
        "Depression symptoms (PHQ-9)",
        "Your plan",
        "Saccharomyces boulardii",
        "How much: 250 mg",
        "twice daily",
        "Take with a glass of water.",
        "Tests to come",
        catalog.tests["calprotectin"].patient_name,
        "Your next visit",
        f"{nxt.day} {nxt:%B %Y}",
        "When to get in touch at once",
        "Please get in touch with your practitioner",
        "local emergency number",
        "A. Example, ND",
        "Page 1 of",
    ]
    missing = [s for s in expected if s not in text]
    assert not missing, f"not in the PDF text: {missing}"


def test_nothing_written_for_the_practitioner(
    case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    page = after_visit_summary(case, catalog, settings).html
    for rule in catalog.red_flags:
        assert rule.label not in page and rule.source not in page, rule.key
    for note in case.notes:
        assert (note.text in page) == (note.visibility == "shared"), note.visibility
    assert "RATIONALE-FOR-PRACTITIONER" not in page
    assert "threshold" not in page.lower()
    assert "Your next visit is on" not in page  # the latest visit: none recorded after it


def test_calm_without_urgent_flags(case: Case, catalog: Catalog, settings: ClinicSettings) -> None:
    calm = case.model_copy(
        update={
            "results": [],
            "history": [],
            # abdominal pain at 50 or over meets NICE NG12 1.3.1 (FIT): not a calm case
            "symptoms": [s for s in case.symptoms if s.symptom != "abdominal_pain"],
            "visits": [
                v.model_copy(
                    update={
                        "screen": v.screen.model_copy(
                            update={
                                "unintentional_weight_loss": False,
                                "nocturnal_symptoms": False,
                                "bowel_habit_change": False,
                                "symptom_onset": None,
                            }
                        )
                    }
                )
                for v in case.visits
            ],
        }
    )
    page = after_visit_summary(calm, catalog, settings).html
    assert "Please get in touch with your practitioner" not in page
    assert "When to get in touch at once" in page


def test_patient_strings_stay_literal(
    case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    patient = case.patient.model_copy(update={"name": XSS})
    plan = [i.model_copy(update={"instructions": XSS}) for i in case.plan]
    evil = case.model_copy(update={"patient": patient, "plan": plan})
    letter = after_visit_summary(evil, catalog, settings)
    assert "<img" not in letter.html
    assert XSS in pdf_text(to_pdf(letter))


def test_unknown_visit_is_one_line(case: Case, catalog: Catalog, settings: ClinicSettings) -> None:
    with pytest.raises(LetterError, match=r"^visit: no visit is recorded on 2001-01-01$"):
        after_visit_summary(case, catalog, settings, visit_date=date(2001, 1, 1))
    empty = case.model_copy(
        update={"visits": [], "symptoms": [], "instruments": [], "orders": [], "notes": []}
    )
    with pytest.raises(LetterError, match=r"^visit: this record has no visits yet$"):
        after_visit_summary(empty, catalog, settings)
