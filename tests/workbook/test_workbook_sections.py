"""The sections the case template calls, and a whole case worked in them: from intake to a
follow-up visit with a plan, everything in the store afterwards."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import ipywidgets as W
import pytest

from casebook import workbook
from casebook.models import SCREEN_QUESTIONS, Patient
from casebook.store import CaseStore, NotFoundError, StoreError

SECTIONS = (
    "header",
    "visits_section",
    "history_section",
    "symptoms_section",
    "instruments_section",
    "tests_section",
    "plan_section",
    "notes_section",
)


def test_open_case_refuses_unknown_patients_and_missing_stores(
    sqlite_url: str, sqlite_store: CaseStore, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match="no patient 'nobody'"):
        workbook.open_case("nobody", sqlite_url)
    with pytest.raises(StoreError, match="casebook init"):
        workbook.open_case("p", f"sqlite:///{tmp_path / 'empty.db'}")


@pytest.mark.parametrize("name", SECTIONS)
def test_every_section_displays_as_widgets(name: str, demo_store) -> None:  # type: ignore[no-untyped-def]
    session = workbook.open_case(demo_store.patient_ids[0], demo_store.url, actor="t")
    try:
        section = getattr(workbook, name)(session)
        assert isinstance(section.widget, W.Widget)
        bundle = section._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert section.forms
    finally:
        session.close()


def test_intake_to_follow_up_with_a_plan(sqlite_url: str, sqlite_store: CaseStore) -> None:
    sqlite_store.add_patient(
        Patient(id="w-1", name="Wren Test", birth_date=date(1985, 2, 2), sex="male")
    )
    session = workbook.open_case("w-1", sqlite_url, actor="dr-a")
    header = workbook.header(session)["header"]
    visits = workbook.visits_section(session)["visits"]
    history = workbook.history_section(session)["history"]
    symptoms = workbook.symptoms_section(session)["symptoms"]
    instruments = workbook.instruments_section(session)["instruments"]
    tests = workbook.tests_section(session)
    plan = workbook.plan_section(session)["plan"]
    notes = workbook.notes_section(session)["notes"]
    intake_day = date.today() - timedelta(days=42)

    # intake: visit, alarm screen, history, symptoms, PHQ-9, an order, a plan item
    visits.new_date.value = intake_day
    visits.start_button.click()
    for name in SCREEN_QUESTIONS:
        visits.fields[name].value = False
    visits.bar.save_button.click()
    history.new("diet")
    history._fields("diet")["pattern"].value = "omnivore"
    history.bar.save_button.click()
    symptoms.rows["bloating"].severity.value = 4
    symptoms.rows["fatigue"].severity.value = 3
    symptoms.bar.save_button.click()
    for item in instruments.panels["phq9"].answers.values():
        item.value = 1
    instruments.bar.save_button.click()
    assert "PHQ-9 item 9" in header.flags.value
    tests["order"].choose("calprotectin")
    tests["order"].bar.save_button.click()
    plan.fields["category"].value = "eliminate_triggers"
    plan.template.value = "low_fodmap_diet"
    plan.use_template.click()
    plan.bar.save_button.click()
    plan.start_button.click()

    # follow-up: new visit, better symptoms, the result, a note
    visits.new_date.value = date.today()
    visits.start_button.click()
    symptoms.rows["bloating"].severity.value = 1
    symptoms.rows["fatigue"].severity.value = 2
    symptoms.bar.save_button.click()
    result = tests["result"]
    result.order.value = next(v for _, v in result.order.options if v)
    result.fields["value"].value = "20"
    result.bar.save_button.click()
    notes.fields["text"].value = "Better on the diet."
    notes.bar.save_button.click()

    with CaseStore(sqlite_url) as store:  # closed: Python 3.13 warns of an unclosed sqlite3
        case = store.load_case("w-1")
    assert [v.kind for v in case.sorted_visits()] == ["intake", "follow-up"]
    assert case.sorted_visits()[0].screen.fever is False
    assert [h.category for h in case.history] == ["diet"]
    assert len(case.symptoms) == 4 and case.instruments[0].total == 9
    assert [(p.template, p.status) for p in case.plan] == [("low_fodmap_diet", "active")]
    assert case.orders[0].status == "resulted" and case.results[0].value == 20.0
    assert case.notes[0].author == "dr-a"
    assert "(-4)" in visits.changes.value  # burden 7 -> 3
    assert session.unsaved == ()
    session.close()


def test_write_case_notebooks_checks_before_papermill(
    demo_store,
    workbook_names,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import casebook.notebooks

    calls: list[Path] = []
    real = casebook.notebooks.run_notebook

    def spy(template: Path, output: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(output)
        return real(template, output, *args, **kwargs)

    monkeypatch.setattr(casebook.notebooks, "run_notebook", spy)
    with pytest.raises(NotFoundError, match="no patient 'ghost'"):
        workbook.write_case_notebooks(
            demo_store.url, [demo_store.patient_ids[0], "ghost"], tmp_path
        )
    with pytest.raises(ValueError, match="patient_id"):
        workbook.write_case_notebooks(demo_store.url, ["../up"], tmp_path)
    assert calls == []
    paths = workbook.write_case_notebooks(demo_store.url, demo_store.patient_ids, tmp_path)
    assert paths == [
        tmp_path.resolve() / pid / workbook_names[pid] for pid in demo_store.patient_ids
    ]
    assert all(p.is_file() for p in paths) and len(calls) == 3


def _shown(widget: W.Widget) -> set[int]:
    """Ids of every widget in the page under `widget` (what the browser draws)."""
    seen = {id(widget)}
    for child in getattr(widget, "children", ()):
        seen |= _shown(child)
    return seen


def test_forms_for_new_entries_stay_folded_until_asked(demo_store) -> None:  # type: ignore[no-untyped-def]
    session = workbook.open_case(demo_store.patient_ids[0], demo_store.url, actor="t")
    try:
        tests = workbook.tests_section(session)
        for fold, form, label in (
            (tests["ordering"], tests["order"], "Order a test"),
            (tests["entering"], tests["result"], "Enter a result"),
        ):
            assert not fold.is_open and id(form.widget) not in _shown(tests.widget)
            assert fold.button is not None and fold.button.description == label
            fold.button.click()
            assert fold.is_open and id(form.widget) in _shown(tests.widget)
        history = workbook.history_section(session)
        plan = workbook.plan_section(session)
        notes = workbook.notes_section(session)
        for section, name in ((history, "history"), (plan, "plan"), (notes, "notes")):
            form = section[name]
            assert id(form.bar.save_button) not in _shown(section.widget), name
            assert not form.fold.is_open
        history["history"].new_button.click()
        plan["plan"].new_button.click()
        notes["notes"].edit_button.click()  # the demo patient has notes
        for section, name in ((history, "history"), (plan, "plan"), (notes, "notes")):
            form = section[name]
            assert form.fold.is_open and id(form.bar.save_button) in _shown(section.widget)
    finally:
        session.close()
