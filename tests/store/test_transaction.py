"""`Transaction`: the one public way into a write. Several writes in one transaction commit
together or not at all; it audits as the store's actor, bumps the record version and locks
the patient. Every test runs on SQLite and on PostgreSQL (see `db_url` in conftest)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

import casebook.store
from casebook import errors
from casebook.models import Note, Patient, Visit
from casebook.store import CaseStore, Transaction
from casebook.store.patients import add_patient, delete_patient
from casebook.store.reads import read_case
from casebook.store.writes import save_record


def _person(pid: str) -> Patient:
    return Patient(id=pid, name="Test Person", birth_date=date(1980, 5, 1), sex="female")


def test_writes_in_one_transaction_commit_together_as_the_actor(store: CaseStore) -> None:
    with store.transaction() as tx:
        assert isinstance(tx, Transaction) and tx.actor == "tester"
        add_patient(tx, _person("p-001"))
        visit = save_record(
            tx, Visit(patient_id="p-001", kind="intake", visit_date=date(2026, 1, 10))
        )
        save_record(
            tx,
            Note(
                patient_id="p-001",
                visit_id=visit.id,
                written_on=visit.visit_date,
                text="first visit",
            ),
        )
        # inside the transaction its own writes are visible
        assert [v.id for v in read_case(tx.conn, "p-001").visits] == [visit.id]
    case = store.load_case("p-001")
    assert [n.text for n in case.notes] == ["first visit"]
    assert case.patient.record_version == 3  # created, then two records
    log = store.audit_log("p-001")
    assert [(e.entity, e.action, e.actor) for e in log] == [
        ("patient", "create", "tester"),
        ("visit", "create", "tester"),
        ("note", "create", "tester"),
    ]
    assert store.verify_audit_log().broken_id is None


def test_a_failure_inside_the_block_writes_nothing(store: CaseStore) -> None:
    store.add_patient(_person("p-001"))
    with pytest.raises(errors.NotFoundError), store.transaction() as tx:
        save_record(tx, Visit(patient_id="p-001", kind="intake", visit_date=date(2026, 1, 10)))
        add_patient(tx, _person("p-002"))
        tx.lock_patient("p-404")
    assert store.load_case("p-001").visits == []
    assert [p.id for p in store.patients()] == ["p-001"]
    assert [e.action for e in store.audit_log("p-001")] == ["create"]
    assert store.audit_log("p-002") == []
    assert store.get_patient("p-001").record_version == 1


def test_lock_patient_refuses_a_deleted_patient(store: CaseStore) -> None:
    store.add_patient(_person("p-001"))
    with store.transaction() as tx:
        assert tx.lock_patient("p-001").id == "p-001"
        delete_patient(tx, "p-001", 1)
    with pytest.raises(errors.NotFoundError, match="no patient 'p-001'"), store.transaction() as tx:
        tx.lock_patient("p-001")


def test_bump_versions_bumps_each_patient_once(store: CaseStore) -> None:
    for pid in ("p-001", "p-002", "p-003"):
        store.add_patient(_person(pid))
    before = {p.id: p.updated_at for p in store.patients()}
    with store.transaction() as tx:
        tx.bump_versions([])
        tx.bump_version("p-003")
        tx.bump_versions({"p-001", "p-003"})
    after = {p.id: p for p in store.patients()}
    assert {pid: p.record_version for pid, p in after.items()} == {
        "p-001": 2,
        "p-002": 1,
        "p-003": 3,
    }
    assert after["p-002"].updated_at == before["p-002"]
    assert after["p-001"].updated_at >= before["p-001"]


def test_audit_entries_name_the_stores_actor(store: CaseStore) -> None:
    store.add_patient(_person("p-001"))
    other = CaseStore(store.url, actor="dr-other")
    try:
        with other.transaction() as tx:
            tx.audit("p-001", "access", "link-1", "view", None, {"link": "link-1"})
            tx.audit_many([("p-001", "access", "link-1", "open", None, None)])
    finally:
        other.close()
    log = store.audit_log("p-001")
    assert [(e.actor, e.action) for e in log] == [
        ("tester", "create"),
        ("dr-other", "view"),
        ("dr-other", "open"),
    ]
    assert log[1].after == {"link": "link-1"}
    assert store.verify_audit_log().broken_id is None
    # an audit entry alone is not a change of the case
    assert store.get_patient("p-001").record_version == 1


def test_store_errors_are_casebook_errors_exported_by_the_store() -> None:
    for name in ("StoreError", "ConflictError", "NotFoundError"):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.CasebookError)
        assert getattr(casebook.store, name) is cls
    assert issubclass(errors.NotFoundError, KeyError)
    assert (
        str(errors.NotFoundError("no patient 'p-1' in the store"))
        == "no patient 'p-1' in the store"
    )
    conflict = errors.ConflictError("plan", "x-1", 2, None, "dr-other")
    assert (conflict.kind, conflict.record_id, conflict.expected, conflict.by) == (
        "plan",
        "x-1",
        2,
        "dr-other",
    )
    assert "changed by dr-other" in str(conflict) and "it is deleted" in str(conflict)


def test_a_conflict_says_when_in_utc() -> None:
    at = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    conflict = errors.ConflictError("note", "n-1", 1, None, "dr-other", at)
    assert conflict.at == at
    assert "changed by dr-other at 2026-01-02 03:04:05 UTC since you loaded it" in str(conflict)
    assert " at " not in str(errors.ConflictError("note", "n-1", 1, None, "dr-other"))
