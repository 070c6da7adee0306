"""The clinic notebook's sections as a to-do list: the worklist folded by patient with a
choice of what to show, the bulk sign-off button (audited), the outcomes table's readable
headers, and a sentence where no widget front end draws a section."""

from __future__ import annotations

from pathlib import Path

import pytest

from casebook.clinic import (
    ClinicFilter,
    ClinicSession,
    export_section,
    filters_section,
    outcomes_section,
    worklist_section,
)
from casebook.notebooks import WIDGET_VIEW
from casebook.store import CaseStore, import_cases
from tests.clinic.cases import TODAY, V, days, make_case

pytestmark = pytest.mark.usefixtures("close_widgets")  # tests/conftest.py

LOW_HB = {"test": "hemoglobin", "collected_on": days(9), "value": 10.4, "unit": "g/dL"}
IN_RANGE = [
    {"test": "ferritin", "collected_on": days(20), "value": 80.0, "unit": "ng/mL"},
    {"test": "albumin", "collected_on": days(12), "value": 4.2, "unit": "g/dL"},
]


@pytest.fixture
def session(sqlite_store: CaseStore, tmp_path: Path) -> ClinicSession:
    import_cases(
        sqlite_store,
        [
            make_case("an-1", [V(30, 8)], name="Ann <b>Anemia</b>", results=[LOW_HB, *IN_RANGE]),
            make_case("ok-2", [V(30, 8)], name="Bo Fine", results=IN_RANGE),
        ],
    )
    return ClinicSession(sqlite_store, ClinicFilter(), export_dir=tmp_path, today=TODAY)


def test_the_worklist_is_folded_by_patient_and_signs_off_in_bulk(session: ClinicSession) -> None:
    section = worklist_section(session)
    (show, button, status), table = section.children[0].children, section
    html = table.value
    # the table is a notebook output (LabHtml), not an ipywidgets HTML value: JupyterLab
    # opens its links in a tab, without a reload
    assert section.children[1].outputs[0]["data"]["text/html"] == html
    assert 'href="an-1/Ann-b-Anemia-b-an-1.ipynb"' in html
    assert html.count('class="casebook-worklist-patient"') == 1  # Bo has nothing to decide
    assert "Ann &lt;b&gt;Anemia&lt;/b&gt;" in html and "<b>Anemia" not in html
    assert "1 red flag" in html and "Not listed: 4 in-range results to sign off" in html
    assert html.count("Hemoglobin 10.4 g/dL") == 1  # the flag and its result: one item
    assert (button.description, button.disabled) == ("Sign off 4 in-range results", False)
    show.value = "everything"
    assert table.value.count('class="casebook-worklist-patient"') == 2
    assert "2 in-range results to sign off" in table.value
    show.value = "test-overdue"
    assert "Nothing to act on for these filters" in table.value
    show.value = "decisions"
    button.click()
    assert "Signed off 4 in-range results of 2 patients" in status.value
    store = session.store
    assert all(
        r.reviewed_by is not None
        for pid in ("an-1", "ok-2")
        for r in store.load_case(pid).results
        if r.test != "hemoglobin"
    )
    assert sum(e.action == "sign-off" for e in store.audit_log("ok-2")) == 2
    assert (button.description, button.disabled) == ("Sign off 0 in-range results", True)
    assert "in-range" not in table.value


def test_outcomes_have_readable_headers(session: ClinicSession) -> None:
    html = outcomes_section(session).value
    for header in ("Protocol template", "Median change (IQR)", "Lost to follow-up", "Note"):
        assert f">{header}</th>" in html
    for raw in ("group_name", "median_change", "q1_change", "n_lost_to_follow_up"):
        assert raw not in html
    assert "overflow-x:auto" in html and "min-width:14em" in html  # the note: never crushed


def test_a_section_no_widget_front_end_draws_is_a_sentence(session: ClinicSession) -> None:
    for section in (
        filters_section(session),
        worklist_section(session),
        outcomes_section(session),
        export_section(session),
    ):
        bundle = section._repr_mimebundle_()
        plain = bundle["text/plain"]
        assert plain.endswith(".") and "Run All Cells" in plain, plain
        assert "(" not in plain.split(":")[0] and "children=" not in plain
        assert bundle[WIDGET_VIEW]["model_id"] == section.model_id
        assert repr(section) == plain
