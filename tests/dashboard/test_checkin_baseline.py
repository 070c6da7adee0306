"""A patient whose first data is a check-in they sent: it is the starting point on their
own page, in the clinic's outcomes and in the after-visit summary, said as their check-in;
a later intake is the start instead (clinical.baseline)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from casebook import dashboard as d
from casebook.checkins import accept, form_sections, mark_reviewed, submit
from casebook.clinic import store_outcomes
from casebook.format import day
from casebook.letters import ClinicSettings, after_visit_summary
from casebook.models import Patient, Visit
from casebook.serve.checkin_links import send_checkin
from casebook.store import CaseStore

NOW = datetime.now(UTC).replace(hour=12)
FIRST, SECOND = NOW - timedelta(days=20), NOW - timedelta(days=2)
ASKED = ["phq9", "symptoms"]


def _checkin(store: CaseStore, when: datetime, value: str) -> str:
    """Send and answer a check-in on `when`, every answer `value` where offered; its id."""
    _, sent = send_checkin(store, "p1", ASKED, days=3, now=when)
    fields = [
        (q.name, value if value in [v for v, _ in q.options] else q.options[0][0])
        for section in form_sections(store.catalog, ASKED)
        for q in section.questions
    ]
    return submit(store, "link", sent, fields, now=when).checkin.id


def _text(html: str) -> str:
    return re.sub(r'src="data:[^"]+"', 'src=""', html)


@pytest.fixture
def checked_in(db_url: str) -> str:
    """p1: no intake, two check-ins (the first reviewed, the second not yet)."""
    with CaseStore(db_url, create=True, actor="t") as store:
        store.add_patient(Patient(id="p1", name="Test Person", birth_date=date(1980, 1, 1)))
        mark_reviewed(store, _checkin(store, FIRST, "2"), "p1")
        _checkin(store, SECOND, "1")  # submitted, not reviewed: the patient's report counts
    return db_url


def test_the_first_checkin_is_the_start_on_the_patients_page(checked_in: str) -> None:
    page = d.load_dashboard("p1", checked_in)
    symptoms = _text(d.symptoms_section(page).html)
    since = f"Since the check-in you sent on {day(FIRST.date())}"
    assert since in symptoms and "first visit" not in symptoms
    rated = len(page.catalog.symptoms)
    assert f"<strong>{rated} better</strong>" in symptoms  # moderate (2) -> mild (1)
    assert f"latest: {day(SECOND.date())}" in symptoms
    scores = d.questionnaires_section(page).html
    assert f"<strong>Latest: 9</strong> from the check-in you sent on {day(SECOND.date())}" in (
        scores
    )
    assert "18 (" in scores and ", your check-in) → 9 (" in scores


def test_one_checkin_says_it_is_the_starting_point(db_url: str) -> None:
    with CaseStore(db_url, create=True, actor="t") as store:
        store.add_patient(Patient(id="p1", name="Test Person", birth_date=date(1980, 1, 1)))
        _checkin(store, FIRST, "2")
    html = d.symptoms_section(d.load_dashboard("p1", db_url)).html
    assert f"in the check-in you sent on {day(FIRST.date())}. This is your starting point" in html


def test_the_first_checkin_is_the_outcomes_baseline(checked_in: str) -> None:
    with CaseStore(checked_in, actor="t") as store:
        row = store_outcomes(store).set_index("patient_id").loc["p1"]
    assert row["baseline_visit"].date() == FIRST.date() and bool(row["followed_up"])
    assert (row["phq9_baseline"], row["phq9_latest"], row["phq9_change"]) == (18, 9, -9)
    rated = row["baseline_burden"]
    assert rated > 0 and row["burden_change"] == -rated / 2


def test_a_later_intake_is_the_start_and_the_checkin_stays_apart(checked_in: str) -> None:
    """The practitioner's intake after the check-ins is where care starts; the check-ins
    before it stay in the record, on the trend, unchanged."""
    intake_day = NOW.date() - timedelta(days=1)
    with CaseStore(checked_in, actor="t") as store:
        intake = store.save(Visit(patient_id="p1", kind="intake", visit_date=intake_day))
        pending = store.checkins("p1", status="submitted")[0]
        accepted, kept = accept(store, pending.id, "p1", intake.id)  # the second, onto it
        assert kept == [] and accepted.accepted_into == intake.id
        case = store.load_case("p1")
        row = store_outcomes(store).set_index("patient_id").loc["p1"]
    assert [v.kind for v in case.sorted_visits()] == ["check-in", "intake"]
    assert row["baseline_visit"].date() == intake_day and not bool(row["followed_up"])
    assert row["phq9_baseline"] == 9 and row["phq9_latest"] != row["phq9_latest"]  # NaN
    page = d.Dashboard(case, d.load_dashboard("p1", checked_in).catalog)
    symptoms = d.symptoms_section(page).html
    assert f"Your symptoms were recorded on {day(intake_day)}" in symptoms
    assert "check-in you sent" not in symptoms


def test_the_summary_compares_with_the_checkin_it_started_from(checked_in: str) -> None:
    with CaseStore(checked_in, actor="t") as store:
        visit = store.save(Visit(patient_id="p1", visit_date=NOW.date()))
        accept(store, store.checkins("p1", status="submitted")[0].id, "p1", visit.id)
        case, catalog = store.load_case("p1"), store.catalog
    letter = after_visit_summary(case, catalog, ClinicSettings.unconfigured())
    assert f"better than in the check-in you sent on {day(FIRST.date())}" in letter.html
    assert "to your first visit" in letter.html  # the check-ins before it were not visits
    assert "at your first visit" not in letter.html


def test_an_intake_without_ratings_counts_from_the_visit_that_rated_them() -> None:
    from casebook.catalog import default_catalog
    from casebook.models import Case, SymptomRating

    visits = [
        Visit(patient_id="p1", kind=kind, visit_date=date(2026, m, 1))
        for kind, m in (("intake", 1), ("follow-up", 2), ("check-in", 3))
    ]
    rated = [
        SymptomRating(patient_id="p1", visit_id=v.id, symptom="bloating", severity=s)
        for v, s in ((visits[1], 3), (visits[2], 1))
    ]
    case = Case(
        patient=Patient(id="p1", name="T", birth_date=date(1980, 1, 1)),
        visits=visits,
        symptoms=rated,
    )
    html = d.symptoms_section(d.Dashboard(case, default_catalog())).html
    assert "Since your visit on 1 February 2026: <strong>1 better</strong>" in html
    assert "latest: 1 March 2026" in html and "first visit" not in html
