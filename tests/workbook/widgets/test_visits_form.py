"""Visits: start the intake and follow-ups, switch, the alarm screen, change since baseline."""

from __future__ import annotations

from datetime import date

from casebook.models import SCREEN_QUESTIONS, AlarmScreen, Visit
from casebook.store import CaseStore
from casebook.workbook.widgets.header import Header
from casebook.workbook.widgets.session import CaseSession
from casebook.workbook.widgets.visits import VisitsForm, change_table


def test_intake_then_follow_up(session: CaseSession, sqlite_store: CaseStore) -> None:
    form = VisitsForm(session)
    assert form.start_button.description == "Start intake"
    assert form.bar.save_button.disabled
    form.new_date.value = date(2024, 1, 10)
    form.start_button.click()
    assert form.start_button.description == "Start follow-up"
    form.new_date.value = date(2024, 2, 21)
    form.start_button.click()
    visits = sqlite_store.load_case(session.patient_id).sorted_visits()
    assert [(v.kind, v.visit_date) for v in visits] == [
        ("intake", date(2024, 1, 10)),
        ("follow-up", date(2024, 2, 21)),
    ]
    assert session.visit_id == visits[1].id == form.selector.value
    form.selector.value = visits[0].id
    assert session.visit_id == visits[0].id
    assert form.selector.get_state()["_options_labels"] == (
        "2024-01-10 · intake",
        "2024-02-21 · follow-up",
    )


def test_the_alarm_screen_raises_a_red_flag(session: CaseSession, sqlite_store: CaseStore) -> None:
    header = Header(session)
    form = VisitsForm(session)
    form.start_visit(date(2024, 1, 10))
    form.fields["gi_bleeding"].value = True
    form.fields["fever"].value = False
    form.fields["symptom_onset"].value = date(2023, 6, 1)
    form.fields["summary"].value = "First <visit>"
    form.bar.save_button.click()
    visit = sqlite_store.load_case(session.patient_id).visits[0]
    assert visit.screen.gi_bleeding is True and visit.screen.fever is False
    assert visit.screen.nocturnal_symptoms is None and visit.summary == "First <visit>"
    assert "Rectal or other GI bleeding" in header.flags.value
    form.fields["visit_date"].value = None
    form.bar.save_button.click()
    assert "a date is required" in form.fields["visit_date"].error.value


def test_change_since_baseline(demo_session: CaseSession) -> None:
    form = VisitsForm(demo_session)
    table = form.changes.get_state()["value"]
    changes = demo_session.case.sorted_visits()
    assert table.count("<tr>") == len(changes) + 1
    assert "symptom burden" in table and "PHQ-9" in table
    assert "(+" in table or "(-" in table  # a change from the baseline is shown
    assert "◀ selected" in change_table(demo_session)
    assert "<svg" in form.chart.widget.value


def test_the_change_heading_names_a_checkin_a_measure_starts_from(
    session: CaseSession, sqlite_store: CaseStore
) -> None:
    from casebook.models import SymptomRating

    pid = session.patient_id
    intake = Visit(patient_id=pid, kind="intake", visit_date=date(2026, 9, 20))  # unrated
    sent = Visit(patient_id=pid, kind="check-in", visit_date=date(2026, 10, 2))
    later = Visit(patient_id=pid, visit_date=date(2026, 10, 20))
    rated = [
        SymptomRating(patient_id=pid, visit_id=v.id, symptom="bloating", severity=s)
        for v, s in ((sent, 3), (later, 1))
    ]
    form = VisitsForm(session)
    heading = form.heading.get_state()["value"]
    assert "(difference from the baseline visit in brackets)" in heading
    session.save([intake, sent, later, *rated])
    heading = form.heading.get_state()["value"]
    assert "symptom burden from the check-in sent on 2026-10-02)" in heading
    assert "the baseline visit" not in heading


def test_the_form_asks_the_ng12_questions_and_they_raise_their_rules(
    session: CaseSession, sqlite_store: CaseStore
) -> None:
    header = Header(session)
    form = VisitsForm(session)
    assert set(SCREEN_QUESTIONS) <= {f.name for f in form.fields}
    assert "dysphagia_or_persistent_vomiting" not in {
        f.name for f in form.fields
    }  # old visits only
    form.start_visit(date(2024, 1, 10))
    for name in ("dysphagia", "reflux", "jaundice", "bowel_habit_change"):
        form.fields[name].value = True
    form.fields["back_pain"].value = False
    form.bar.save_button.click()
    screen = sqlite_store.load_case(session.patient_id).visits[0].screen
    assert (screen.dysphagia, screen.reflux, screen.jaundice, screen.back_pain) == (
        True,
        True,
        True,
        False,
    )
    assert screen.bowel_habit_change is True and screen.new_onset_diabetes is None
    assert "Difficulty swallowing (dysphagia)" in header.flags.value
    assert "Change in bowel habit" in header.flags.value


def test_saving_an_old_visit_keeps_its_legacy_answer(
    session: CaseSession, sqlite_store: CaseStore
) -> None:
    session.save(
        [
            Visit(
                patient_id=session.patient_id,
                kind="intake",
                visit_date=date(2024, 1, 10),
                screen=AlarmScreen(dysphagia_or_persistent_vomiting=True),
            )
        ]
    )
    form = VisitsForm(session)
    form.fields["fever"].value = False
    form.bar.save_button.click()
    screen = sqlite_store.load_case(session.patient_id).visits[0].screen
    assert screen.fever is False and screen.dysphagia_or_persistent_vomiting is True
