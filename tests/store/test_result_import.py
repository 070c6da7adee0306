"""Results imported in bulk: idempotent, audited per patient with every value, one
transaction, safe to run twice at once; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from casebook.cli import main
from casebook.interop import import_patients_csv, import_results_csv
from casebook.models import TestResult, new_ids
from casebook.store import CaseStore, ImportSummary, ResultColumns, StoreError, import_results
from tests.threads import run_at_once

HEADER = "patient_id,collected_on,test,value,unit,ref_low,ref_high\n"


@pytest.fixture
def lab_store(store: CaseStore, tmp_path: Path) -> CaseStore:
    path = tmp_path / "patients.csv"
    path.write_text(
        "patient_id,name,birth_date,sex\n"
        + "".join(
            f"p{n},Pat {n},1980-01-01,{'female' if n % 2 else 'male'}\n" for n in range(1, 7)
        ),
        encoding="utf-8",
    )
    import_patients_csv(store, path)
    return store


def _file(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def _results(pids: range, first: date, days: int) -> list[str]:
    return [
        f"p{n},{first + timedelta(days=d)},crp,{n + d}.{d % 2 * 5},mg/L,,\n"
        for n in pids
        for d in range(days)
    ]


def _audit_rows(store: CaseStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar_one())


def test_every_created_value_is_in_one_audit_entry_per_patient_and_the_chain_verifies(
    lab_store: CaseStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, "r.csv", _results(range(1, 4), date(2024, 1, 1), 3))
    summary = import_results_csv(lab_store, path)

    assert (summary.created, summary.updated, summary.unchanged) == (9, 0, 0)
    assert summary.patients == {"p1", "p2", "p3"}
    for n in (1, 2, 3):
        [entry] = [e for e in lab_store.audit_log(f"p{n}") if e.entity == "result"]
        assert (entry.action, entry.actor, entry.before) == ("import", "tester", None)
        columns = entry.after["columns"]
        created = [dict(zip(columns, row, strict=True)) for row in entry.after["created"]]
        stored = {r.id: r for r in lab_store.load_case(f"p{n}").results}
        assert {c["id"] for c in created} == set(stored)
        for c in created:
            r = stored[c["id"]]
            assert (
                c["test"],
                c["collected_on"],
                c["value"],
                c["unit"],
                c["ref_high"],
                c["flag"],
            ) == (r.test, r.collected_on.isoformat(), r.value, r.unit, r.ref_high, r.flag)
    assert lab_store.verify_audit_log().intact
    url = lab_store.engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "audit", "--verify"]) == 0
    assert "audit log intact" in capsys.readouterr().out


def test_a_patients_results_apart_in_the_file_are_audited_together(
    lab_store: CaseStore, tmp_path: Path
) -> None:
    lines = _results(range(1, 4), date(2024, 1, 1), 3)
    by_day = sorted(lines, key=lambda line: line.split(",")[1])  # p1, p2, p3, p1, ...
    import_results_csv(lab_store, _file(tmp_path, "r.csv", by_day))
    for n in (1, 2, 3):
        [entry] = [e for e in lab_store.audit_log(f"p{n}") if e.entity == "result"]
        assert [row[2] for row in entry.after["created"]] == [
            "2024-01-01",
            "2024-01-02",
            "2024-01-03",
        ]
    assert lab_store.verify_audit_log().intact


def test_same_file_again_changes_nothing_and_a_changed_value_needs_review_again(
    lab_store: CaseStore, tmp_path: Path
) -> None:
    lines = _results(range(1, 3), date(2024, 1, 1), 2)
    path = _file(tmp_path, "r.csv", lines)
    import_results_csv(lab_store, path)
    lab_store.mark_results_reviewed("p1")
    audited = _audit_rows(lab_store)

    again = import_results_csv(lab_store, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert _audit_rows(lab_store) == audited

    changed = [lines[0].replace(",1.0,", ",99,"), *lines[1:]]
    assert changed != lines
    summary = import_results_csv(lab_store, _file(tmp_path, "fixed.csv", changed))
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 3)
    results = {(r.collected_on, r.value): r for r in lab_store.load_case("p1").results}
    fixed = results[(date(2024, 1, 1), 99.0)]
    assert (fixed.flag, fixed.version, fixed.reviewed_at, fixed.reviewed_by) == ("H", 3, None, None)
    other = results[(date(2024, 1, 2), 2.5)]
    assert other.reviewed_by == "tester"  # untouched, still reviewed
    entry = lab_store.audit_log("p1")[-1]
    assert entry.before["updated"][0]["value"] == 1
    assert entry.after["updated"][0]["value"] == 99
    assert lab_store.verify_audit_log().intact


def test_the_same_result_twice_is_refused_and_nothing_is_written(lab_store: CaseStore) -> None:
    row = {
        "patient_id": "p1",
        "test": "crp",
        "collected_on": date(2024, 1, 1),
        "value": 3.0,
        "value_text": None,
        "unit": "mg/L",
        "ref_low": None,
        "ref_high": 5.0,
        "flag": None,
    }
    audited = _audit_rows(lab_store)
    with pytest.raises(StoreError, match="twice in one import"):
        import_results(lab_store, [row, {**row, "value": 4.0}])
    assert lab_store.load_case("p1").results == []
    assert _audit_rows(lab_store) == audited
    assert lab_store.get_patient("p1").record_version == 1


def test_results_for_a_deleted_patient_are_refused(lab_store: CaseStore) -> None:
    lab_store.delete_patient("p2", lab_store.get_patient("p2").version)
    result = TestResult(
        patient_id="p2", test="crp", collected_on=date(2024, 1, 1), value=1.0, unit="mg/L"
    )
    with pytest.raises(StoreError, match="no patient 'p2'"):
        import_results(lab_store, [result])


def test_two_imports_at_once_both_land(lab_store: CaseStore, tmp_path: Path) -> None:
    url = lab_store.engine.url.render_as_string(hide_password=False)
    # p3 and p4 are in both files, on the same dates: one import creates them, the other
    # finds them unchanged
    files = [
        _file(tmp_path, "a.csv", _results(range(1, 5), date(2024, 1, 1), 5)),
        _file(tmp_path, "b.csv", _results(range(3, 7), date(2024, 1, 1), 5)),
    ]

    def importer(path: Path) -> Callable[[], ImportSummary]:
        def run() -> ImportSummary:
            with CaseStore(url, actor=f"importer-{path.stem}") as store:
                return import_results_csv(store, path)

        return run

    summaries = run_at_once([importer(f) for f in files])
    assert sum(s.created for s in summaries) == 30
    assert sum(s.unchanged for s in summaries) == 10
    assert sum(len(lab_store.load_case(f"p{n}").results) for n in range(1, 7)) == 30
    assert lab_store.verify_audit_log().intact


def test_columns_and_rows_are_the_same_results() -> None:
    rows = [
        {
            "patient_id": "p1",
            "test": "crp",
            "collected_on": date(2024, 1, 1),
            "value": 1.0,
            "value_text": None,
            "unit": "mg/L",
            "ref_low": None,
            "ref_high": 5.0,
            "flag": None,
        }
    ]
    columns = ResultColumns.from_rows(rows)
    assert len(columns) == 1
    assert columns.rows() == rows
    with pytest.raises(ValueError, match="not all of one length"):
        ResultColumns(["p1"], [], [], [], [], [], [], [], [])


def test_new_ids_are_record_ids_in_increasing_order() -> None:
    ids = new_ids(1000)
    assert len(set(ids)) == 1000
    assert ids == sorted(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert new_ids(0) == []
