"""The patient's page says when a check-in is ready, with its link, and only then."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from casebook.dashboard.sections import header, load_dashboard
from casebook.models import Patient, Visit
from casebook.serve.checkin_links import send_checkin
from casebook.store import CaseStore


def test_a_waiting_checkin_shows_on_the_page_until_it_ends(sqlite_url: str) -> None:
    with CaseStore(sqlite_url, create=True, actor="t") as store:
        store.add_patient(Patient(id="p1", name="Test Person", birth_date=date(1980, 1, 1)))
        store.save(Visit(patient_id="p1", visit_date=date(2026, 1, 5)))
    assert "check-in is ready" not in header(load_dashboard("p1", sqlite_url)).html
    with CaseStore(sqlite_url, actor="t") as store:
        past = datetime.now(UTC) - timedelta(days=3)
        send_checkin(store, "p1", ["phq9"], days=1, now=past)  # ended already
    assert "check-in is ready" not in header(load_dashboard("p1", sqlite_url)).html
    with CaseStore(sqlite_url, actor="t") as store:
        send_checkin(store, "p1", ["phq9"])
    html = header(load_dashboard("p1", sqlite_url)).html
    assert "A check-in is ready" in html and 'href="/checkin"' in html
    assert "last visit was on 5 January 2026" in html


def test_your_last_visit_is_not_a_checkin_you_sent(sqlite_url: str) -> None:
    with CaseStore(sqlite_url, create=True, actor="t") as store:
        store.add_patient(Patient(id="p1", name="Test Person", birth_date=date(1980, 1, 1)))
        store.save(Visit(patient_id="p1", visit_date=date(2026, 1, 5)))
        store.save(Visit(patient_id="p1", kind="check-in", visit_date=date(2026, 2, 9)))
    html = header(load_dashboard("p1", sqlite_url)).html
    assert "last visit was on 5 January 2026" in html and "9 February" not in html
