"""The after-visit summary is of a visit the practitioner held: a check-in the patient sent
is neither the visit it defaults to nor "your next visit"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casebook.catalog import Catalog
from casebook.format import day
from casebook.letters import ClinicSettings, LetterError, after_visit_summary
from casebook.models import Case, SymptomRating, Visit


def _with_checkin(case: Case, days_after_last: int) -> tuple[Case, Visit]:
    last = case.sorted_visits()[-1]
    checkin = Visit(
        patient_id=case.patient.id,
        kind="check-in",
        visit_date=last.visit_date + timedelta(days=days_after_last),
    )
    rating = SymptomRating(
        patient_id=case.patient.id, visit_id=checkin.id, symptom="bloating", severity=1
    )
    update = {"visits": [*case.visits, checkin], "symptoms": [*case.symptoms, rating]}
    return case.model_copy(update=update), checkin


def test_the_default_is_the_latest_visit_held_not_a_later_checkin(
    alarm_case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    held = alarm_case.sorted_visits()[-1]
    case, checkin = _with_checkin(alarm_case, 7)
    letter = after_visit_summary(case, catalog, settings)
    assert letter.date == held.visit_date
    assert "Your next visit is on" not in letter.html  # the check-in is not a visit
    assert day(checkin.visit_date) not in letter.html


def test_the_next_visit_is_the_next_one_held(
    alarm_case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    held = alarm_case.sorted_visits()
    case, _ = _with_checkin(alarm_case, 3)
    letter = after_visit_summary(case, catalog, settings, visit_date=held[-2].visit_date)
    assert f"Your next visit is on <strong>{day(held[-1].visit_date)}</strong>" in letter.html
    before = after_visit_summary(case, catalog, settings, visit_date=held[-1].visit_date)
    assert "Your next visit is on" not in before.html


def test_only_checkins_is_one_line_and_no_summary(
    alarm_case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    patient = alarm_case.patient.id
    checkin = Visit(patient_id=patient, kind="check-in", visit_date=alarm_case.visits[0].visit_date)
    case = Case(patient=alarm_case.patient, visits=[checkin])
    with pytest.raises(LetterError, match=r"^visit: .*only check-ins.*no visit held yet$"):
        after_visit_summary(case, catalog, settings)
    # named by its date, a check-in is still not a visit: "thank you for coming" would be false
    when = checkin.visit_date.isoformat()
    with pytest.raises(LetterError, match=rf"^visit: {when} holds only a check-in .*visit held$"):
        after_visit_summary(case, catalog, settings, visit_date=checkin.visit_date)


def test_a_day_with_a_visit_and_a_checkin_is_the_visit(
    alarm_case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    held = alarm_case.sorted_visits()[-1]
    checkin = Visit(patient_id=alarm_case.patient.id, kind="check-in", visit_date=held.visit_date)
    case = alarm_case.model_copy(update={"visits": [*alarm_case.visits, checkin]})
    letter = after_visit_summary(case, catalog, settings, visit_date=held.visit_date)
    assert letter.date == held.visit_date
    assert "Thank you for coming" in letter.html
