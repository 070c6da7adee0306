"""Instrument forms: scored as the practitioner answers; PHQ-9 item 9 flags at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from casebook.catalog import load_catalog
from casebook.models import Patient
from casebook.store import CaseStore
from casebook.workbook.widgets.header import Header
from casebook.workbook.widgets.instruments import InstrumentsForm
from casebook.workbook.widgets.session import CaseSession

CLINIC_INSTRUMENT = """
key = "clinic_gi"
name = "Clinic GI questionnaire"
short_name = "CGI"
measures = "GI symptoms"
licence = "Held by the clinic"
source = "Clinic's own"
[[options]]
value = 0
label = "No"
[[options]]
value = 1
label = "Yes"
[[items]]
id = "a"
text = "Pain <after> meals?"
[[items]]
id = "b"
text = "Urgency?"
[[bands]]
min = 0
max = 1
label = "low"
[[bands]]
min = 2
max = 2
label = "high"
"""


def _answer(form: InstrumentsForm, key: str, answers: dict[str, int]) -> None:
    for item, value in answers.items():
        form.panels[key].answers[item].value = value


def test_every_catalog_instrument_has_a_tab(with_visit: Callable[..., CaseSession]) -> None:
    form = InstrumentsForm(with_visit())
    assert list(form.panels) == ["phq9", "gad7", "pss10", "fas", "bristol"]
    assert form.tabs.get_state()["titles"] == (
        "PHQ-9: 0/9",
        "GAD-7: 0/7",
        "PSS-10: 0/10",
        "FAS: 0/10",
        "Bristol: 0/1",
    )


def test_scored_as_answered_with_the_band(
    with_visit: Callable[..., CaseSession], sqlite_store: CaseStore
) -> None:
    session = with_visit()
    form = InstrumentsForm(session)
    _answer(form, "gad7", {str(i): 2 for i in range(1, 7)})
    assert "6 of 7 answered" in form.panels["gad7"].score.value
    _answer(form, "gad7", {"7": 1})
    score = form.panels["gad7"].score.get_state()["value"]
    assert "Score 13" in score and "moderate" in score
    assert "(range 0 – 21)" in score and "scores 10 – 14" in score
    assert "Your answers" not in score  # the band's patient text is for the patient
    assert form.tabs.titles[1] == "GAD-7: 13 moderate"
    _answer(form, "bristol", {"type": 6})
    form.bar.save_button.click()
    stored = {r.instrument: r for r in sqlite_store.load_case(session.patient_id).instruments}
    assert (stored["gad7"].total, stored["gad7"].band) == (13, "moderate")
    assert stored["bristol"].total == 6 and set(stored) == {"gad7", "bristol"}
    assert not form.bar.dirty


def test_phq9_item_9_raises_the_flag_before_saving(
    with_visit: Callable[..., CaseSession], sqlite_store: CaseStore
) -> None:
    session = with_visit(date.today())  # same day while fresh (older evidence: flag_lifecycle)
    header = Header(session)
    form = InstrumentsForm(session)
    form.panels["phq9"].answers["9"].value = 1  # one answer is enough: the rest may wait
    assert "Alert" in form.panels["phq9"].alert.get_state()["value"]
    assert "SAME DAY" in header.flags.value and "not saved yet" in header.flags.value
    assert sqlite_store.load_case(session.patient_id).instruments == []
    form.bar.save_button.click()
    (response,) = sqlite_store.load_case(session.patient_id).instruments
    assert response.answers == {"9": 1} and response.total is None  # partial: not scored
    assert "SAME DAY" in header.flags.value and "not saved yet" not in header.flags.value
    form.panels["phq9"].answers["9"].value = ""
    form.bar.save_button.click()  # every answer cleared: the response is deleted
    assert sqlite_store.load_case(session.patient_id).instruments == []
    assert "SAME DAY" not in header.flags.value


def test_discard_clears_the_pending_flag(with_visit: Callable[..., CaseSession]) -> None:
    session = with_visit(date.today())
    header = Header(session)
    form = InstrumentsForm(session)
    form.panels["phq9"].answers["9"].value = 3
    assert "SAME DAY" in header.flags.value
    form.bar.discard_button.click()
    assert "SAME DAY" not in header.flags.value
    assert form.panels["phq9"].answers["9"].value == ""


def test_a_clinic_instrument_appears_and_scores(tmp_path: Path, sqlite_url: str) -> None:
    (tmp_path / "clinic" / "instruments").mkdir(parents=True)
    (tmp_path / "clinic" / "instruments" / "clinic_gi.toml").write_text(CLINIC_INSTRUMENT)
    catalog = load_catalog(tmp_path / "clinic")
    with CaseStore(sqlite_url, create=True, actor="t", catalog=catalog) as store:
        store.add_patient(Patient(id="c1", name="C", birth_date="1990-01-01"))
        from casebook.models import Visit

        store.save(Visit(patient_id="c1", kind="intake", visit_date="2024-01-01"))
        form = InstrumentsForm(CaseSession(store, "c1"))
        assert list(form.panels)[-1] == "clinic_gi"
        grid = form.panels["clinic_gi"].widget.children[2]
        assert "Pain &lt;after&gt; meals?" in grid.children[0].value
        _answer(form, "clinic_gi", {"a": 1, "b": 1})
        assert "Score 2" in form.panels["clinic_gi"].score.value
        form.bar.save()
        (saved,) = store.load_case("c1").instruments
        assert (saved.instrument, saved.total, saved.band) == ("clinic_gi", 2, "high")
