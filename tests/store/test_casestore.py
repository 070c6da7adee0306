"""CaseStore: transactions, audit, optimistic locking, soft deletes, derived fields.

Every test here runs on SQLite and on PostgreSQL (see `db_url` in conftest)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from casebook.clinical.derive import RecordError
from casebook.models import (
    InstrumentResponse,
    Note,
    Patient,
    PlanItem,
    SymptomRating,
    TestResult,
    Visit,
)
from casebook.store import CaseStore, ConflictError, NotFoundError, StoreError, import_case


def _patient(store: CaseStore, pid: str = "p-001") -> Patient:
    return store.add_patient(
        Patient(id=pid, name="Test Person", birth_date=date(1980, 5, 1), sex="female")
    )


def _visit(
    store: CaseStore, pid: str = "p-001", when: date = date(2026, 1, 10), kind: str = "intake"
) -> Visit:
    return store.save(Visit(patient_id=pid, kind=kind, visit_date=when))  # type: ignore[arg-type]


def test_new_patient_has_an_empty_case(store: CaseStore) -> None:
    p = _patient(store)
    assert (p.version, p.record_version) == (1, 1)
    case = store.load_case("p-001")
    assert case.patient == p
    assert case.visits == [] and case.plan == []


def test_save_inserts_then_updates_with_versions_and_audit(store: CaseStore) -> None:
    _patient(store)
    visit = _visit(store)
    assert visit.version == 1
    item = store.save(
        PlanItem(
            patient_id="p-001",
            category="herbal",
            no_substance_reason="Synthetic test item, no catalog substance",
            name="Peppermint oil",
        )
    )
    assert item.version == 1
    edited = store.save(item.model_copy(update={"dose": "0.2 ml"}))
    assert edited.version == 2
    assert store.load_case("p-001").plan == [edited]
    assert store.get_patient("p-001").record_version == 4  # create + visit + item + edit
    log = store.audit_log("p-001")
    assert [(e.action, e.entity) for e in log] == [
        ("create", "patient"),
        ("create", "visit"),
        ("create", "plan"),
        ("update", "plan"),
    ]
    assert log[-1].actor == "tester"
    assert log[-1].before["dose"] == "" and log[-1].after["dose"] == "0.2 ml"
    assert log[-1].entity_id == item.id


def test_a_stale_save_is_a_conflict_and_neither_edit_is_lost(store: CaseStore) -> None:
    _patient(store)
    item = store.save(
        PlanItem(
            patient_id="p-001",
            category="herbal",
            no_substance_reason="Synthetic test item, no catalog substance",
            name="Peppermint oil",
        )
    )
    mine = store.save(item.model_copy(update={"dose": "first"}))
    with pytest.raises(ConflictError) as err:
        store.save(item.model_copy(update={"dose": "second"}))
    # The newer record travels with the error, so the UI can show both edits.
    assert err.value.current == mine
    assert err.value.by == "tester"
    assert "reload" in str(err.value)
    assert store.load_case("p-001").plan[0].dose == "first"


def test_saving_an_unchanged_record_writes_nothing(store: CaseStore) -> None:
    _patient(store)
    item = store.save(
        PlanItem(
            patient_id="p-001",
            category="herbal",
            no_substance_reason="Synthetic test item, no catalog substance",
            name="Peppermint oil",
        )
    )
    before = (store.get_patient("p-001").record_version, len(store.audit_log("p-001")))
    assert store.save(item) == item
    assert (store.get_patient("p-001").record_version, len(store.audit_log("p-001"))) == before


def test_delete_is_soft_audited_and_version_checked(store: CaseStore) -> None:
    _patient(store)
    item = store.save(PlanItem(patient_id="p-001", category="referral", name="GI referral"))
    edited = store.save(item.model_copy(update={"status": "active"}))
    with pytest.raises(ConflictError):
        store.delete(item)
    store.delete(edited)
    assert store.load_case("p-001").plan == []
    t = sa.table("plan_items", sa.column("id"), sa.column("deleted_at"))
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t.c.deleted_at).where(t.c.id == item.id)).one()
    assert row.deleted_at is not None  # still there, marked deleted
    last = store.audit_log("p-001")[-1]
    assert (last.action, last.before["status"], last.after) == ("delete", "active", None)
    with pytest.raises(ConflictError, match="deleted"):
        store.save(edited)


def test_deleting_a_visit_removes_its_answers_and_detaches_notes(store: CaseStore) -> None:
    _patient(store)
    visit = _visit(store)
    store.save(
        SymptomRating(
            patient_id="p-001", visit_id=visit.id, symptom="bloating", severity=3, frequency="daily"
        )
    )
    note = store.save(
        Note(patient_id="p-001", visit_id=visit.id, written_on=visit.visit_date, text="kept")
    )
    store.delete(visit)
    case = store.load_case("p-001")
    assert case.visits == [] and case.symptoms == []
    assert [(n.id, n.visit_id, n.version) for n in case.notes] == [(note.id, None, 2)]


def test_derived_fields_are_computed_by_the_store(store: CaseStore) -> None:
    _patient(store)
    visit = _visit(store)
    full = store.save(
        InstrumentResponse(
            patient_id="p-001",
            visit_id=visit.id,
            instrument="gad7",
            answers={str(i): 2 for i in range(1, 8)},
        )
    )
    assert (full.total, full.band) == (14, "moderate")
    partial = store.save(
        InstrumentResponse(
            patient_id="p-001", visit_id=visit.id, instrument="phq9", answers={"1": 3, "2": 1}
        )
    )
    assert (partial.total, partial.band) == (None, None)  # kept as typed, scored when complete
    result = store.save(
        TestResult(
            patient_id="p-001", test="hemoglobin", collected_on=date(2026, 1, 12), value=11.1
        )
    )
    assert (result.unit, result.ref_low, result.flag) == ("g/dL", 12.0, "L")  # female range


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (
            lambda v: InstrumentResponse(
                patient_id="p-001", visit_id=v, instrument="gad7", answers={"1": 9}
            ),
            "answers['1']",
        ),
        (
            lambda v: InstrumentResponse(
                patient_id="p-001", visit_id=v, instrument="gad7", answers={"99": 1}
            ),
            "answers['99']",
        ),
        (
            lambda v: InstrumentResponse(
                patient_id="p-001", visit_id=v, instrument="msq", answers={}
            ),
            "instrument",
        ),
        (
            lambda v: SymptomRating(patient_id="p-001", visit_id=v, symptom="hiccups", severity=1),
            "symptom",
        ),
        (
            lambda v: TestResult(
                patient_id="p-001",
                test="calprotectin",
                collected_on=date(2026, 1, 2),
                value=80,
                unit="mg/L",
            ),
            "unit",
        ),
        (
            lambda v: TestResult(
                patient_id="p-001", test="no_such_test", collected_on=date(2026, 1, 2), value=1
            ),
            "test",
        ),
    ],
)
def test_records_the_catalog_refuses_are_not_saved(store: CaseStore, record, field) -> None:  # type: ignore[no-untyped-def]
    _patient(store)
    visit = _visit(store)
    before = store.get_patient("p-001").record_version
    with pytest.raises(RecordError) as err:
        store.save(record(visit.id))
    assert err.value.field == field
    assert store.get_patient("p-001").record_version == before


def test_one_rating_per_symptom_per_visit(store: CaseStore) -> None:
    _patient(store)
    visit = _visit(store)
    store.save(SymptomRating(patient_id="p-001", visit_id=visit.id, symptom="fatigue", severity=1))
    with pytest.raises(StoreError, match="already has a rating"):
        store.save(
            SymptomRating(patient_id="p-001", visit_id=visit.id, symptom="fatigue", severity=2)
        )


def test_unknown_patient_and_record(store: CaseStore) -> None:
    with pytest.raises(NotFoundError, match="no patient 'nobody'"):
        store.load_case("nobody")
    with pytest.raises(NotFoundError):
        store.save(
            PlanItem(
                patient_id="nobody",
                category="herbal",
                no_substance_reason="Synthetic test item, no catalog substance",
                name="x",
            )
        )
    _patient(store)
    with pytest.raises(NotFoundError):
        store.save(
            PlanItem(
                patient_id="p-001",
                category="herbal",
                no_substance_reason="Synthetic test item, no catalog substance",
                name="x",
                version=3,
            )
        )


def test_patient_edits_are_version_checked(store: CaseStore) -> None:
    p = _patient(store)
    renamed = store.save_patient(p.model_copy(update={"name": "New Name"}))
    assert renamed.version == 2
    with pytest.raises(ConflictError):
        store.save_patient(p.model_copy(update={"name": "Other"}))
    with pytest.raises(StoreError, match="already exists"):
        store.add_patient(p)
    store.delete_patient("p-001", renamed.version)
    assert store.patients() == []
    assert store.audit_log("p-001")[-1].action == "delete"


def test_the_audit_log_is_append_only(store: CaseStore) -> None:
    _patient(store)
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert [e.actor for e in store.audit_log("p-001")] == ["tester"]


def test_changed_since_lists_recently_changed_cases(store: CaseStore) -> None:
    _patient(store, "a")
    cutoff = store.patients()[0].updated_at
    _patient(store, "b")
    assert {p.id for p in store.patients(changed_since=cutoff)} >= {"b"}
    later = max(p.updated_at for p in store.patients())
    store.save(
        PlanItem(
            patient_id="a",
            category="herbal",
            no_substance_reason="Synthetic test item, no catalog substance",
            name="x",
        )
    )
    assert "a" in {p.id for p in store.patients(changed_since=later)}


def test_import_case_is_lossless_and_idempotent(store: CaseStore, demo_cases) -> None:  # type: ignore[no-untyped-def]
    case = demo_cases[0]
    assert import_case(store, case) == "created"
    loaded = store.load_case(case.patient.id)
    assert import_case(store, loaded) == "unchanged"
    # What was generated is what is stored, but for derived fields the store fills in.
    assert [v.id for v in loaded.visits] == [v.id for v in case.sorted_visits()]
    assert {r.id for r in loaded.results} == {r.id for r in case.results}
    assert all(r.total is not None for r in loaded.instruments)
    changed = loaded.model_copy(update={"plan": loaded.plan[1:]})
    with pytest.raises(StoreError, match="--replace"):
        import_case(store, changed)
    assert import_case(store, changed, replace=True) == "replaced"
    assert len(store.load_case(case.patient.id).plan) == len(loaded.plan) - 1


def test_a_store_that_was_never_initialised_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StoreError, match="casebook init"):
        CaseStore(f"sqlite:///{tmp_path / 'none.db'}")
    with pytest.raises(StoreError, match="unsupported database"):
        CaseStore("mysql://x@localhost/db")
    with pytest.raises(StoreError, match="not a database URL"):
        CaseStore("::nonsense::")
