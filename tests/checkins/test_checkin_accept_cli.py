"""`casebook checkin accept CHECKIN --visit VISIT`: the visit by its date (what `casebook
show` prints) or its id; a missing or unknown one refused, naming the patient's visits."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from casebook.checkins import form_sections, submit
from casebook.cli import main
from casebook.models import Patient, Visit
from casebook.serve.checkin_links import send_checkin
from casebook.store import CaseStore

DAY = date(2026, 3, 10)


def _submitted(store: CaseStore) -> str:
    store.add_patient(Patient(id="p1", name="Test Person", birth_date=date(1980, 1, 1)))
    _, sent = send_checkin(store, "p1", ["phq9"])
    fields = [(q.name, "1") for s in form_sections(store.catalog, ["phq9"]) for q in s.questions]
    return submit(store, "l", sent, fields, now=datetime.now(UTC)).checkin.id


def test_accept_into_the_visit_on_a_date(
    store: CaseStore, capsys: pytest.CaptureFixture[str]
) -> None:
    checkin = _submitted(store)
    visit = store.save(Visit(patient_id="p1", kind="intake", visit_date=DAY))
    assert main(["--db", store.url, "checkin", "accept", checkin, "--visit", "2026-03-10"]) == 0
    assert f"accepted into visit {visit.id}" in capsys.readouterr().out
    case = store.load_case("p1")
    assert [(v.kind, v.visit_date) for v in case.visits] == [("intake", DAY)]
    assert {r.visit_id for r in case.instruments} == {visit.id}
    assert [c.status for c in store.checkins("p1")] == ["accepted"]


def test_a_missing_or_unknown_visit_is_refused_naming_the_visits(
    store: CaseStore, capsys: pytest.CaptureFixture[str]
) -> None:
    checkin = _submitted(store)
    assert main(["--db", store.url, "checkin", "accept", checkin]) == 1
    err = capsys.readouterr().err
    assert "name the visit, by its date or id (the patient's visits: none yet)" in err
    visit = store.save(Visit(patient_id="p1", visit_date=DAY))
    store.save(Visit(patient_id="p1", visit_date=DAY))
    assert main(["--db", store.url, "checkin", "accept", checkin, "--visit", "2026-03-10"]) == 1
    err = capsys.readouterr().err
    assert "2 visits on 2026-03-10: give one's id" in err and visit.id in err
    assert main(["--db", store.url, "checkin", "accept", checkin, "--visit", "2026-03-11"]) == 1
    assert "no visit '2026-03-11'" in capsys.readouterr().err
    assert [c.status for c in store.checkins("p1")] == ["submitted"]  # nothing written
    assert main(["--db", store.url, "checkin", "accept", checkin, "--visit", visit.id]) == 0
    assert [c.status for c in store.checkins("p1")] == ["accepted"]
