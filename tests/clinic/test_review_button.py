"""The workbook's "Mark reviewed" button: through the session, into the store, audited."""

from __future__ import annotations

import pytest

from casebook.store import CaseStore, import_cases
from casebook.workbook.widgets.results import ResultsView
from casebook.workbook.widgets.session import CaseSession
from tests.clinic.cases import V, days, make_case

pytestmark = pytest.mark.usefixtures("close_widgets")  # tests/conftest.py


def test_mark_reviewed_button(sqlite_store: CaseStore) -> None:
    import_cases(
        sqlite_store,
        [
            make_case(
                "rb-1",
                [V(30, 5)],
                results=[
                    {"test": "ferritin", "collected_on": days(20), "value": 80.0, "unit": "ng/mL"},
                    {"test": "crp", "collected_on": days(10), "value": 7.0, "unit": "mg/L"},
                ],
            )
        ],
    )
    session = CaseSession(sqlite_store, "rb-1")
    view = ResultsView(session)
    assert view.review.get_state()["description"] == "Mark reviewed (2)"
    assert not view.review.disabled and view.table.value.count(">new<") == 2
    view.review.click()
    stored = sqlite_store.load_case("rb-1").results
    assert all(r.reviewed_by == sqlite_store.actor for r in stored)
    assert len([e for e in sqlite_store.audit_log("rb-1") if e.action == "review"]) == 2
    assert view.review.disabled and view.review.description == "Mark reviewed"
    assert "2 results marked reviewed" in view.review_status.value
    assert f"by {sqlite_store.actor}" in view.table.value and ">new<" not in view.table.value
