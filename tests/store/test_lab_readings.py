"""The lab-aware readings from a stored case, on SQLite and PostgreSQL (issue 19): a due
date saved with the safety facts dates the pregnancy, and the flags read it back."""

from __future__ import annotations

from datetime import date

from casebook.clinical.labs import pregnancy_stage
from casebook.models import HistoryEntry, Patient, SafetyFacts, TestResult
from casebook.store import CaseStore


def test_a_stored_due_date_sets_the_pregnancy_threshold(store: CaseStore) -> None:
    store.add_patient(
        Patient(id="pg-01", name="Preg Test", birth_date=date(1992, 5, 5), sex="female")
    )
    facts = SafetyFacts(recorded_on=date(2025, 3, 1), pregnant=True, due_date=date(2025, 10, 1))
    store.save(HistoryEntry(patient_id="pg-01", data=facts))
    # 10.7 g/dL on 2025-06-01: 22 weeks, second trimester (threshold 10.5); the lab's range
    # (12-15.5) is a non-pregnant one and does not apply
    store.save(
        TestResult(
            patient_id="pg-01",
            test="hemoglobin",
            collected_on=date(2025, 6, 1),
            value=10.7,
            unit="g/dL",
            ref_low=12.0,
            ref_high=15.5,
        )
    )
    case = store.load_case("pg-01")
    (entry,) = case.history
    assert isinstance(entry.data, SafetyFacts) and entry.data.due_date == date(2025, 10, 1)
    assert pregnancy_stage(case, date(2025, 6, 1)) == "second trimester"
    assert "anemia" not in {
        s.flag.key for s in store.flag_statuses("pg-01", today=date(2025, 6, 2))
    }
    store.save(
        TestResult(
            patient_id="pg-01",
            test="hemoglobin",
            collected_on=date(2025, 7, 1),
            value=10.4,
            unit="g/dL",
        )
    )
    statuses = {s.flag.key: s for s in store.flag_statuses("pg-01", today=date(2025, 7, 2))}
    assert "is below 10.5 (pregnancy, second trimester (BSH))" in statuses["anemia"].flag.reason
