"""Imports never show a traceback: races, NUL bytes, duplicate ids, deep nesting, '-' ids."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from casebook.cli import main
from casebook.interop import case_to_json, import_patients_csv
from casebook.interop.fhir import bundle_to_json
from casebook.models import Case, Patient
from casebook.store import CaseStore, ImportSummary, import_case
from tests.threads import run_at_once

SECRET = "Zelda Quux"  # a name that must never appear in an error message


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_two_concurrent_imports_of_overlapping_new_ids_both_succeed(
    db_url: str, tmp_path: Path
) -> None:
    CaseStore(db_url, create=True).close()
    ids = [f"p{n:03d}" for n in range(60)]
    files = []
    for k, chosen in enumerate((ids[:40], ids[20:])):  # 20 ids in both files
        path = tmp_path / f"patients-{k}.csv"
        path.write_text(
            "patient_id,name,birth_date,sex\n"
            + "".join(f"{pid},Pat {pid},1970-01-01,female\n" for pid in chosen),
            encoding="utf-8",
        )
        files.append(path)

    def importer(path: Path) -> Callable[[], ImportSummary]:
        def run() -> ImportSummary:
            with CaseStore(db_url, actor="importer") as store:
                return import_patients_csv(store, path)

        return run

    run_at_once([importer(f) for f in files])
    with CaseStore(db_url) as store:
        assert [s.id for s in store.patients()] == ids
        with store.engine.connect() as conn:
            audited = conn.execute(
                sa.text("SELECT entity_id, count(*) FROM audit_log GROUP BY entity_id")
            ).all()
        assert dict(audited) == dict.fromkeys(ids, 1)
        assert store.verify_audit_log().intact


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (f"p1,{SECRET}\x00,1970-01-01,female\n", "line 2: name: contains a NUL byte"),
        ("p1\x00,Pat,1970-01-01,female\n", "line 2: patient_id: contains a NUL byte"),
        ("p1,Pat,1970-01-01,fem\x00ale\n", "line 2: sex: contains a NUL byte"),
    ],
)
def test_a_nul_byte_in_a_csv_field_is_refused_with_line_and_field(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, where: str
) -> None:
    CaseStore(db_url, create=True).close()
    path = tmp_path / "patients.csv"
    path.write_text("patient_id,name,birth_date,sex\n" + content, encoding="utf-8")
    code, err = _cli(["--db", db_url, "import", "patients", str(path)], capsys)
    assert code == 1
    assert where in err
    assert SECRET not in err
    with CaseStore(db_url) as store:
        assert store.patients() == []


def test_a_nul_byte_in_a_results_csv_is_refused(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with CaseStore(db_url, create=True) as store:
        store.add_patient(Patient(id="p1", name="Pat", birth_date="1970-01-01"))  # type: ignore[arg-type]
    path = tmp_path / "results.csv"
    path.write_text(
        "patient_id,collected_on,test,value,unit,ref_low,ref_high\n"
        "p1,2025-01-01,crp,3.1,mg/L\x00,,\n",
        encoding="utf-8",
    )
    code, err = _cli(["--db", db_url, "import", "results", str(path)], capsys)
    assert code == 1
    assert "line 2: unit: contains a NUL byte" in err


def _case_file(tmp_path: Path, case: Case, edit: object = None) -> Path:
    payload = json.loads(case_to_json(case))
    if callable(edit):
        edit(payload["case"])
    path = tmp_path / "case.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def test_a_nul_byte_in_a_json_case_is_refused_naming_the_field(
    db_url: str, tmp_path: Path, demo_cases: list[Case], capsys: pytest.CaptureFixture[str]
) -> None:
    CaseStore(db_url, create=True).close()
    case = demo_cases[1]

    def poison(data: dict) -> None:  # type: ignore[type-arg]
        data["patient"]["name"] = f"{SECRET}\x00"

    path = _case_file(tmp_path, case, poison)
    code, err = _cli(["--db", db_url, "import", "case", str(path)], capsys)
    assert code == 1
    assert "case.patient.name: Value error, contains a NUL byte" in err
    assert SECRET not in err
    with CaseStore(db_url) as store:
        assert store.patients() == []


@pytest.mark.parametrize("replace", [[], ["--replace"]])
def test_duplicate_record_ids_in_a_case_file_are_refused(
    db_url: str,
    tmp_path: Path,
    demo_cases: list[Case],
    capsys: pytest.CaptureFixture[str],
    replace: list[str],
) -> None:
    case = demo_cases[1]
    with CaseStore(db_url, create=True) as store:
        import_case(store, case)
    visit_id = case.visits[0].id

    def duplicate(data: dict) -> None:  # type: ignore[type-arg]
        data["visits"].append(dict(data["visits"][0]))  # the same id twice

    path = _case_file(tmp_path, case, duplicate)
    code, err = _cli(["--db", db_url, "import", "case", str(path), *replace], capsys)
    assert code == 1
    assert f"visits: duplicate record id(s) {visit_id}" in err
    with CaseStore(db_url) as store:
        assert store.load_case(case.patient.id).visits == case.visits


def test_duplicate_record_ids_in_a_fhir_bundle_are_refused(
    sqlite_url: str, tmp_path: Path, demo_cases: list[Case], capsys: pytest.CaptureFixture[str]
) -> None:
    case = demo_cases[1]
    with CaseStore(sqlite_url, create=True) as store:
        bundle = json.loads(bundle_to_json(case, store.catalog))
    encounter = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter")
    bundle["entry"].append(encounter)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    for replace in ([], ["--replace"]):
        code, err = _cli(["--db", sqlite_url, "import", "fhir", str(path), *replace], capsys)
        assert code == 1
        assert "visits: duplicate record id(s) " in err
    with CaseStore(sqlite_url) as store:
        assert store.patients() == []


@pytest.mark.parametrize("kind", ["case", "fhir"])
def test_deeply_nested_json_is_one_line(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    CaseStore(sqlite_url, create=True).close()
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    code, err = _cli(["--db", sqlite_url, "import", kind, str(path)], capsys)
    assert code == 1
    assert err.startswith(f"casebook import: {path}: nested too deeply")
    assert err.count("\n") == 1


@pytest.mark.parametrize("pid", ["-rf", "--help", "-", "-1"])
def test_a_patient_id_starting_with_a_dash_is_refused(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], pid: str
) -> None:
    with pytest.raises(ValidationError, match="may not start with '-'"):
        Patient(id=pid, name="Pat", birth_date="1970-01-01")  # type: ignore[arg-type]
    CaseStore(sqlite_url, create=True).close()
    path = tmp_path / "patients.csv"
    path.write_text(
        f"patient_id,name,birth_date,sex\n{pid},Pat,1970-01-01,female\n", encoding="utf-8"
    )
    code, err = _cli(["--db", sqlite_url, "import", "patients", str(path)], capsys)
    assert code == 1
    assert "line 2: patient_id: " in err and "not starting with '-'" in err
