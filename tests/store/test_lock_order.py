"""Two writers whose transactions take the store's locks in opposite orders never deadlock:
one that audits and then creates a patient, beside one that creates a patient and then
audits (PostgreSQL; SQLite runs its write transactions one at a time)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa

from casebook.models import Patient, Visit
from casebook.store import CaseStore
from casebook.store.patients import add_patient
from casebook.store.writes import save_record


def _person(pid: str) -> Patient:
    return Patient(id=pid, name="Test Person", birth_date=date(1980, 5, 1), sex="female")


def _waiting_on_a_lock(url: str) -> bool:
    """Is any other session of this database waiting for a lock? (a state, not a time)"""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND wait_event_type = 'Lock' AND "
                        "pid <> pg_backend_pid()"
                    )
                ).scalar()
            )
    finally:
        engine.dispose()


def test_audit_then_create_beside_create_then_audit(pg_url: str) -> None:
    first = CaseStore(pg_url, create=True, actor="first")
    second = CaseStore(pg_url, actor="second")
    try:
        first.add_patient(_person("p-001"))
        errors: list[BaseException] = []

        def create_then_audit() -> None:
            try:
                with second.transaction() as tx:
                    add_patient(tx, _person("p-003"))  # the new-patients lock, then the chain
            except BaseException as exc:
                errors.append(exc)

        with first.transaction() as tx:
            save_record(tx, Visit(patient_id="p-001", kind="intake", visit_date=date(2026, 1, 10)))
            other = threading.Thread(target=create_then_audit)
            other.start()
            # the other writer is queued behind this one before this one goes on
            while other.is_alive() and not _waiting_on_a_lock(pg_url):
                threading.Event().wait(0.05)
            add_patient(tx, _person("p-002"))  # the chain, then the new-patients lock
        other.join(timeout=240)
        assert not other.is_alive() and errors == []
        assert [p.id for p in first.patients()] == ["p-001", "p-002", "p-003"]
    finally:
        first.close()
        second.close()


pytestmark = pytest.mark.postgres
