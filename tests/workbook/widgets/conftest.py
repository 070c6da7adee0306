"""Fixtures for the form tests: sessions over a fresh SQLite store, headless (no kernel)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest

from casebook.models import Case, Patient
from casebook.store import CaseStore, import_cases
from casebook.workbook.widgets.session import CaseSession


@pytest.fixture(autouse=True)
def _widgets_closed(close_widgets: None) -> None:
    """Every form test closes the widgets it made (tests/conftest.py)."""


@pytest.fixture
def new_patient(sqlite_store: CaseStore) -> Patient:
    """A patient with nothing recorded yet; the name holds markup that must stay text."""
    return sqlite_store.add_patient(
        Patient(id="p-001", name="Ada <b>Bold</b> & Co", birth_date=date(1968, 3, 4), sex="female")
    )


@pytest.fixture
def session(sqlite_store: CaseStore, new_patient: Patient) -> CaseSession:
    return CaseSession(sqlite_store, new_patient.id)


@pytest.fixture
def demo_session(sqlite_store: CaseStore, demo_cases: list[Case]) -> CaseSession:
    """The first seeded synthetic case (alarm features, 4 visits)."""
    import_cases(sqlite_store, demo_cases)
    return CaseSession(sqlite_store, demo_cases[0].patient.id)


@pytest.fixture
def other_store(sqlite_url: str, sqlite_store: CaseStore) -> Iterator[CaseStore]:
    """The same store opened by another practitioner, for conflicts."""
    other = CaseStore(sqlite_url, actor="bob")
    yield other
    other.close()


@pytest.fixture
def with_visit(session: CaseSession) -> Callable[..., CaseSession]:
    """Add a visit to `session` (saved through the session) and select it."""
    from casebook.models import Visit

    def add(on: date = date(2024, 1, 10), kind: str = "intake") -> CaseSession:
        visit = Visit(patient_id=session.patient_id, kind=kind, visit_date=on)
        session.save([visit])
        session.select_visit(visit.id)
        return session

    return add
