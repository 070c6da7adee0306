"""Visits: start the intake and follow-ups, switch, the alarm screen, change since baseline."""

from __future__ import annotations

from datetime import date

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
