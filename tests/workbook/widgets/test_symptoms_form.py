"""The symptom inventory of the selected visit, beside the chart of every visit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from casebook.store import CaseStore
from casebook.workbook.widgets.session import CaseSession
from casebook.workbook.widgets.symptoms import SymptomsForm


def test_the_eleven_symptoms_start_unrated(with_visit: Callable[..., CaseSession]) -> None:
    session = with_visit()
    form = SymptomsForm(session)
    assert len(form.rows) == 11
    assert all(r.severity.get_state()["index"] is None for r in form.rows.values())
    assert "11 of 11 symptoms not rated" in form.note.value
    assert "No symptoms rated yet" in form.chart.widget.value
    # The count follows the buttons as ratings are entered, before any save.
    form.rows["bloating"].severity.value = 2
    assert "10 of 11 symptoms not rated" in form.note.get_state()["value"]
    for row in form.rows.values():
        row.severity.value = 1
    assert form.note.get_state()["value"] == ""
    form.rows["fatigue"].severity.value = None
    assert "1 of 11 symptoms not rated" in form.note.get_state()["value"]


def test_rating_and_saving_writes_only_rated_symptoms(
    with_visit: Callable[..., CaseSession], sqlite_store: CaseStore
) -> None:
    session = with_visit()
    form = SymptomsForm(session)
    form.rows["bloating"].severity.value = 3
    form.rows["bloating"].frequency.value = "daily"
    form.rows["fatigue"].severity.value = 0
    assert form.bar.dirty and "Unsaved changes" in form.bar.status.value
    form.bar.save_button.click()
    stored = {r.symptom: r for r in sqlite_store.load_case(session.patient_id).symptoms}
    assert set(stored) == {"bloating", "fatigue"}
    assert (stored["bloating"].severity, stored["bloating"].frequency) == (3, "daily")
    assert stored["bloating"].visit_id == session.visit_id
    assert not form.bar.dirty and "Saved" in form.bar.status.value
    assert "9 of 11 symptoms not rated" in form.note.value
    svg = form.chart.widget.get_state()["value"]
    assert "<svg" in svg and "Bloating" in svg

    form.rows["bloating"].severity.value = 1
    form.bar.save_button.click()
    again = {r.symptom: r for r in sqlite_store.load_case(session.patient_id).symptoms}
    assert (again["bloating"].severity, again["bloating"].version) == (1, 2)
    assert again["fatigue"].version == 1  # unchanged ratings are not rewritten


def test_the_form_follows_the_selected_visit(with_visit: Callable[..., CaseSession]) -> None:
    session = with_visit(date(2024, 1, 10), "intake")
    form = SymptomsForm(session)
    form.rows["headaches"].severity.value = 2
    form.bar.save()
    first = session.visit_id
    with_visit(date(2024, 2, 20), "follow-up")
    assert form.pin.visit_id == session.visit_id != first
    assert form.rows["headaches"].severity.value is None
    session.select_visit(first)
    assert form.rows["headaches"].severity.value == 2


def test_unsaved_ratings_stay_with_their_visit(
    with_visit: Callable[..., CaseSession], sqlite_store: CaseStore
) -> None:
    session = with_visit(date(2024, 1, 10), "intake")
    first = session.visit_id
    with_visit(date(2024, 2, 20), "follow-up")
    second = session.visit_id
    form = SymptomsForm(session)
    form.rows["diarrhea"].severity.value = 4
    session.select_visit(first)
    assert form.pin.visit_id == second
    assert "Still showing this visit because of unsaved changes" in form.pin.heading.value
    form.bar.save_button.click()
    (rating,) = sqlite_store.load_case(session.patient_id).symptoms
    assert rating.visit_id == second
    assert form.pin.visit_id == first  # saved: it follows the selection again
    assert form.rows["diarrhea"].severity.value is None


def test_no_visit_means_nothing_to_save(session: CaseSession) -> None:
    form = SymptomsForm(session)
    assert form.bar.save_button.disabled
    assert "No visit yet" in form.pin.heading.value
