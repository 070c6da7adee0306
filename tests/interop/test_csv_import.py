"""CSV import of patients and results: whole-file validation, line numbers, idempotence."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from casebook.cli import main
from casebook.interop import (
    CsvImportError,
    import_patients_csv,
    import_results_csv,
    read_patients_csv,
)
from casebook.models import TestOrder
from casebook.store import CaseStore, NotFoundError

PATIENTS_HEADER = "patient_id,name,birth_date,sex\n"
RESULTS_HEADER = "patient_id,collected_on,test,value,unit,ref_low,ref_high\n"
FUTURE = (date.today() + timedelta(days=30)).isoformat()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(exc: CsvImportError) -> list[tuple[int, str]]:
    return [(e.line, e.field) for e in exc.errors]


# --- patients -------------------------------------------------------------------------


def test_patients_import_creates_rows_and_keeps_leading_zeros(
    store: CaseStore, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "p.csv",
        PATIENTS_HEADER
        + "007,Ada Lovelace,1980-01-02,female\n"
        + "p-2, Bob Brown ,1975-05-05,Male\n"
        + "\n"
        + "p_3,Cy,2001-12-31,other\n",
    )
    summary = import_patients_csv(store, path)

    assert (summary.created, summary.updated, summary.unchanged) == (3, 0, 0)
    assert summary.patients == {"007", "p-2", "p_3"}
    assert [p.id for p in store.patients()] == ["007", "p-2", "p_3"]
    ada = store.get_patient("007")
    assert (ada.name, ada.birth_date, ada.sex) == ("Ada Lovelace", date(1980, 1, 2), "female")
    assert (ada.version, ada.record_version) == (1, 1)
    bob = store.get_patient("p-2")
    assert (bob.name, bob.sex) == ("Bob Brown", "male")  # trimmed, sex lower-cased
    with pytest.raises(NotFoundError):
        store.get_patient("7")  # "007" was not turned into a number
    assert [e.action for e in store.audit_log("007")] == ["create"]


def test_patients_same_file_twice_changes_nothing(store: CaseStore, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.csv",
        PATIENTS_HEADER + "007,Ada Lovelace,1980-01-02,female\np2,Bob,1975-05-05,male\n",
    )
    import_patients_csv(store, path)
    audit_before = {pid: len(store.audit_log(pid)) for pid in ("007", "p2")}
    versions_before = {p.id: p.record_version for p in store.patients()}

    again = import_patients_csv(store, path)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert again.patients == set()
    assert {pid: len(store.audit_log(pid)) for pid in ("007", "p2")} == audit_before
    assert {p.id: p.record_version for p in store.patients()} == versions_before


def test_patients_changed_name_is_updated_and_audited(store: CaseStore, tmp_path: Path) -> None:
    import_patients_csv(
        store,
        write(
            tmp_path,
            "a.csv",
            PATIENTS_HEADER + "007,Ada Lovelace,1980-01-02,female\n" + "p2,Bob,1975-05-05,male\n",
        ),
    )
    summary = import_patients_csv(
        store,
        write(
            tmp_path,
            "b.csv",
            PATIENTS_HEADER + "007,Ada King,1980-01-02,female\n" + "p2,Bob,1975-05-05,male\n",
        ),
    )

    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 1)
    assert summary.patients == {"007"}
    ada = store.get_patient("007")
    assert ada.name == "Ada King"
    assert (ada.version, ada.record_version) == (2, 2)
    log = store.audit_log("007")
    assert [e.action for e in log] == ["create", "update"]
    assert log[-1].before["name"] == "Ada Lovelace"
    assert log[-1].after["name"] == "Ada King"
    assert log[-1].actor == "tester"
    assert [e.action for e in store.audit_log("p2")] == ["create"]


BAD_PATIENTS = (
    PATIENTS_HEADER
    + 'ok1,"Ada\nLovelace",1980-01-02,female\n'  # lines 2-3: one record, two file lines
    + "b1,Bob,1980-13-01,male\n"  # 4
    + f"b2,Bob,{FUTURE},male\n"  # 5
    + "b3,Bob,1980-01-01,alien\n"  # 6
    + "b4,,1980-01-01,male\n"  # 7
    + "ok1,Dup,1980-01-01,male\n"  # 8
    + "b5,Bob,1980-01-01\n"  # 9
    + "../etc,X,1980-01-01,female\n"  # 10
    + "a;rm -rf /,X,1980-01-01,male\n"  # 11
    + "\n"  # 12: blank lines are skipped but still counted
    + "$(whoami),X,1980-01-01,male\n"  # 13
    + "a b,X,1980-01-01,male\n"  # 14
    + "x" * 65
    + ",X,1980-01-01,male\n"  # 15
    + "x/y,X,1980-01-01,male\n"  # 16
    + "b6,Bob,1899-12-31,male,extra\n"  # 17
    + "b7,Bob,1899-12-31,male\n"  # 18
    + "ok2,Cleo,1990-03-03,unknown\n"  # 19: fine, but nothing may be imported
)


def test_bad_patient_rows_are_all_listed_and_nothing_is_imported(
    store: CaseStore, tmp_path: Path
) -> None:
    path = write(tmp_path, "bad.csv", BAD_PATIENTS)
    with pytest.raises(CsvImportError) as caught:
        import_patients_csv(store, path)

    assert errors_of(caught.value) == [
        (4, "birth_date"),
        (5, "birth_date"),
        (6, "sex"),
        (7, "name"),
        (8, "patient_id"),
        (9, "row"),
        (10, "patient_id"),
        (11, "patient_id"),
        (13, "patient_id"),
        (14, "patient_id"),
        (15, "patient_id"),
        (16, "patient_id"),
        (17, "row"),
        (18, "birth_date"),
    ]
    text = str(caught.value)
    assert text.startswith(f"{path}: 14 bad rows, nothing was imported:")
    assert "  line 4: birth_date: is not a date (use YYYY-MM-DD)" in text
    assert "  line 5: birth_date: is in the future" in text
    assert "  line 6: sex: is not one of female, male, other, unknown" in text
    assert "  line 7: name: is empty" in text
    assert "  line 8: patient_id: the same id is already on line 2" in text
    assert "  line 9: row: has 3 fields, the header has 4" in text
    assert "  line 10: patient_id: is not a valid id" in text
    assert "  line 11: patient_id: is not a valid id" in text
    assert "  line 13: patient_id: is not a valid id" in text
    assert "  line 14: patient_id: is not a valid id" in text
    assert "  line 15: patient_id: is not a valid id" in text
    assert "  line 16: patient_id: is not a valid id" in text
    assert "  line 18: birth_date: is before 1900" in text
    assert store.patients() == []


def test_sixty_four_character_id_is_accepted(store: CaseStore, tmp_path: Path) -> None:
    pid = "x" * 64
    import_patients_csv(
        store, write(tmp_path, "p.csv", PATIENTS_HEADER + f"{pid},X,1980-01-01,male\n")
    )
    assert store.get_patient(pid).name == "X"


ROW = "p1,Ann,1980-01-01,female\n"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("patient_id,name,sex\n" + ROW, "missing column(s): birth_date"),
        ("patient_id,name,birth_date,sex,notes\n" + ROW, "unknown column(s): notes"),
        ("patient_id,name,birth_date,sex,name\n" + ROW, "repeated column(s): name"),
        ("", "the file is empty"),
        ("\ufeff", "the file is empty"),
    ],
)
def test_header_problems_are_reported_on_line_1(
    store: CaseStore, tmp_path: Path, text: str, reason: str
) -> None:
    path = write(tmp_path, "h.csv", text)
    with pytest.raises(CsvImportError) as caught:
        import_patients_csv(store, path)
    assert [(e.line, e.field) for e in caught.value.errors] == [(1, "header")]
    assert f"  line 1: header: {reason}" in str(caught.value)
    assert store.patients() == []


def test_header_with_bom_spaces_and_other_order_is_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path, "p.csv", "\ufeff sex , birth_date,name,patient_id\r\nfemale,1980-01-02,Ann,p1\r\n"
    )
    [patient] = read_patients_csv(path)
    assert (patient.id, patient.name, patient.sex) == ("p1", "Ann", "female")


def test_header_only_file_imports_nothing(store: CaseStore, tmp_path: Path) -> None:
    summary = import_patients_csv(store, write(tmp_path, "p.csv", PATIENTS_HEADER))
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 0)
    assert store.patients() == []


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match="no such file"):
        read_patients_csv(tmp_path / "nope.csv")


def test_cli_bad_patients_file_exits_1_naming_the_line(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db_url, "init"]) == 0
    path = write(
        tmp_path, "bad.csv", PATIENTS_HEADER + "p1,Ann,1980-01-01,female\np2,Bob,1980-02-30,male\n"
    )
    capsys.readouterr()

    assert main(["--db", db_url, "import", "patients", str(path)]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert "casebook import: " in err
    assert "1 bad row, nothing was imported" in err
    assert "line 3: birth_date: is not a date" in err
    with CaseStore(db_url) as s:
        assert s.patients() == []


def test_cli_imports_patients(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db_url, "init"]) == 0
    path = write(tmp_path, "p.csv", PATIENTS_HEADER + "007,Ann,1980-01-01,female\n")
    assert main(["--db", db_url, "import", "patients", str(path)]) == 0
    assert "patients: 1 created, 0 updated, 0 unchanged (1 patients)" in capsys.readouterr().out
    assert main(["--db", db_url, "import", "patients", str(path)]) == 0
    assert "patients: 0 created, 0 updated, 1 unchanged" in capsys.readouterr().out


# --- results --------------------------------------------------------------------------


@pytest.fixture
def lab_store(store: CaseStore, tmp_path: Path) -> CaseStore:
    """`store` with patients p1 (female) and p2 (male)."""
    import_patients_csv(
        store,
        write(
            tmp_path,
            "patients.csv",
            PATIENTS_HEADER + "p1,Ann,1980-01-01,female\np2,Bob,1975-05-05,male\n",
        ),
    )
    return store


def result_rows(store: CaseStore, pid: str) -> dict[tuple[str, date], tuple[object, ...]]:
    return {
        (r.test, r.collected_on): (r.value, r.value_text, r.unit, r.ref_low, r.ref_high, r.flag)
        for r in store.load_case(pid).results
    }


def test_results_by_key_and_loinc_with_catalog_ranges_and_flags(
    lab_store: CaseStore, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "r.csv",
        RESULTS_HEADER
        + "p1,2024-01-10,hemoglobin,11.5,g/dL,,\n"  # female range: low 12
        + "p2,2024-01-10,718-7,12.5,g/dl,,\n"  # LOINC; male range: low 13
        + "p2,2024-02-10,hemoglobin,13.5,,,\n"  # empty unit: the catalog's
        + "p1,2024-01-10,1988-5,12,mg/L,,\n"  # CRP by LOINC, high 10
        + "p1,2024-01-10,vitamin_d,35,ng/mL,,\n"
        + "p1,2024-01-10,ferritin,10,ng/mL,5,100\n",
    )  # the lab's range wins
    summary = import_results_csv(lab_store, path)

    assert (summary.created, summary.updated, summary.unchanged) == (6, 0, 0)
    assert summary.patients == {"p1", "p2"}
    assert result_rows(lab_store, "p1") == {
        ("hemoglobin", date(2024, 1, 10)): (11.5, None, "g/dL", 12.0, None, "L"),
        ("crp", date(2024, 1, 10)): (12.0, None, "mg/L", None, 5.0, "H"),
        ("vitamin_d", date(2024, 1, 10)): (35.0, None, "ng/mL", 20.0, 100.0, None),
        ("ferritin", date(2024, 1, 10)): (10.0, None, "ng/mL", 5.0, 100.0, None),
    }
    assert result_rows(lab_store, "p2") == {
        ("hemoglobin", date(2024, 1, 10)): (12.5, None, "g/dL", 13.0, None, "L"),
        ("hemoglobin", date(2024, 2, 10)): (13.5, None, "g/dL", 13.0, None, None),
    }
    assert lab_store.get_patient("p1").record_version == 2
    entry = lab_store.audit_log("p1")[-1]
    assert (entry.entity, entry.action) == ("result", "import")
    assert len(entry.after["created"]) == 4


def test_qualitative_results_are_flagged(lab_store: CaseStore, tmp_path: Path) -> None:
    import_results_csv(
        lab_store,
        write(
            tmp_path,
            "r.csv",
            RESULTS_HEADER
            + "p1,2024-01-10,giardia_antigen,positive,,,\n"
            + "p2,2024-01-10,giardia_antigen,Not Detected,,,\n",
        ),
    )
    [r1] = lab_store.load_case("p1").results
    [r2] = lab_store.load_case("p2").results
    assert (r1.test, r1.value, r1.value_text, r1.flag) == ("giardia_antigen", None, "positive", "A")
    assert (r2.value_text, r2.flag) == ("Not Detected", None)


BAD_RESULTS = (
    RESULTS_HEADER
    + "p1,2024-01-10,giardia_antigen,maybe,,,\n"  # 2
    + "p1,2024-01-10,hemoglobin,11.5,mmol/L,,\n"  # 3
    + "zz,2024-01-10,hemoglobin,11.5,g/dL,,\n"  # 4
    + "p1,2024-01-10,unicorn,1,,,\n"  # 5
    + "p1,2024-01-11,hemoglobin,abc,g/dL,,\n"  # 6
    + "p1,2024-01-12,hemoglobin,12,g/dL,15,10\n"  # 7
    + "p1,2024-01-13,crp,1,mg/L,,\n"  # 8: fine on its own
    + "p1,2024-01-13,1988-5,2,mg/L,,\n"  # 9: crp again, by LOINC
    + "p1,2024-01-14,crp,,mg/L,,\n"  # 10
    + "p1,1970-01-14,crp,1,mg/L,,\n"  # 11: before the birth date
    + "p1,2024-01-15,crp,inf,mg/L,,\n"  # 12
    + 'p1,2024-01-16,"vitamin\n_d",1,,,\n'  # 13-14: unknown test spanning two lines
    + f"p1,{FUTURE},crp,1,mg/L,,\n"  # 15
    + "../p1,2024-01-10,crp,1,mg/L,,\n"  # 16
    + "p1,2024-01-10,crp,1,mg/L,x,\n"  # 17
    + "p1,2024-01-10,crp,1\n"  # 18
    + "p2,2024-01-10,crp,3,mg/L,,\n"  # 19: fine, but nothing may be imported
)


def test_bad_result_rows_are_all_listed_and_nothing_is_imported(
    lab_store: CaseStore, tmp_path: Path
) -> None:
    path = write(tmp_path, "bad.csv", BAD_RESULTS)
    with pytest.raises(CsvImportError) as caught:
        import_results_csv(lab_store, path)

    assert errors_of(caught.value) == [
        (2, "value"),
        (3, "unit"),
        (4, "patient_id"),
        (5, "test"),
        (6, "value"),
        (7, "ref_low"),
        (9, "test"),
        (10, "value"),
        (11, "collected_on"),
        (12, "value"),
        (13, "test"),
        (15, "collected_on"),
        (16, "patient_id"),
        (17, "ref_low"),
        (18, "row"),
    ]
    text = str(caught.value)
    assert (
        "line 2: value: Giardia antigen or PCR (stool): result 'maybe' is not one of "
        "'negative', 'not detected', 'positive', 'detected'"
    ) in text
    assert "line 3: unit: 'mmol/L' is not the catalog unit 'g/dL' for Hemoglobin" in text
    assert "line 4: patient_id: no such patient in the store" in text
    assert "line 5: test: 'unicorn' is neither a catalog test key nor the LOINC code" in text
    assert "line 6: value: is not a number" in text
    assert "line 7: ref_low: 15.0 is above ref_high 10.0" in text
    assert "line 9: test: crp for the same patient and date is already on line 8" in text
    assert "line 10: value: is empty" in text
    assert "line 11: collected_on: 1970-01-14 is before the birth date 1980-01-01" in text
    assert "line 12: value: is not a finite number" in text
    assert "line 16: patient_id: is not a valid id" in text
    assert "line 17: ref_low: is not a number" in text
    assert "line 18: row: has 4 fields, the header has 7" in text
    assert lab_store.load_case("p1").results == []
    assert lab_store.load_case("p2").results == []
    assert [e.action for e in lab_store.audit_log("p1")] == ["create"]


def test_results_reimport_unchanged_then_corrected(lab_store: CaseStore, tmp_path: Path) -> None:
    rows = (
        "p1,2024-01-10,hemoglobin,11.5,g/dL,,\n"
        "p1,2024-01-10,giardia_antigen,negative,,,\n"
        "p2,2024-01-10,crp,4,mg/L,,\n"
    )
    path = write(tmp_path, "r.csv", RESULTS_HEADER + rows)
    import_results_csv(lab_store, path)
    audit_len = len(lab_store.audit_log("p1"))
    version = lab_store.get_patient("p1").record_version

    again = import_results_csv(lab_store, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert len(lab_store.audit_log("p1")) == audit_len
    assert lab_store.get_patient("p1").record_version == version

    fixed = write(
        tmp_path, "fixed.csv", RESULTS_HEADER + rows.replace("hemoglobin,11.5", "hemoglobin,12.5")
    )
    summary = import_results_csv(lab_store, fixed)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 2)
    assert summary.patients == {"p1"}
    hb = next(r for r in lab_store.load_case("p1").results if r.test == "hemoglobin")
    assert (hb.value, hb.flag, hb.version) == (12.5, None, 2)
    entry = lab_store.audit_log("p1")[-1]
    assert entry.before == {
        "updated": [
            {
                "id": hb.id,
                "value": 11.5,
                "value_text": None,
                "unit": "g/dL",
                "ref_low": 12.0,
                "ref_high": None,
                "flag": "L",
            }
        ]
    }
    assert entry.after["updated"][0]["value"] == 12.5
    assert lab_store.get_patient("p1").record_version == version + 1
    assert len(lab_store.load_case("p1").results) == 2


def test_new_result_fulfils_the_open_order(lab_store: CaseStore, tmp_path: Path) -> None:
    crp = lab_store.save(TestOrder(patient_id="p1", test="crp", ordered_on=date(2024, 1, 5)))
    later = lab_store.save(TestOrder(patient_id="p1", test="crp", ordered_on=date(2024, 3, 1)))
    other = lab_store.save(TestOrder(patient_id="p1", test="ferritin", ordered_on=date(2024, 1, 5)))

    audit_len = len(lab_store.audit_log("p1"))
    import_results_csv(
        lab_store, write(tmp_path, "r.csv", RESULTS_HEADER + "p1,2024-01-10,crp,4,mg/L,,\n")
    )

    case = lab_store.load_case("p1")
    orders = {o.id: o for o in case.orders}
    assert orders[crp.id].status == "resulted"
    assert orders[crp.id].collected_on == date(2024, 1, 10)
    assert orders[crp.id].version == crp.version + 1
    assert orders[later.id].status == "ordered"  # placed after the sample was taken
    assert orders[other.id].status == "ordered"
    [result] = case.results
    assert result.order_id == crp.id
    # the order's change of status is audited too, not only the new result's link to it
    written = [e.model_dump(mode="json") for e in lab_store.audit_log("p1")[audit_len:]]
    assert mentions(written, crp.id)
    assert not mentions(written, later.id)
    assert not mentions(written, other.id)


def mentions(obj: object, target: str) -> bool:
    """Whether `target` occurs in `obj` other than as the value of an `order_id` key."""
    if isinstance(obj, dict):
        return any(k != "order_id" and mentions(v, target) for k, v in obj.items())
    if isinstance(obj, list):
        return any(mentions(v, target) for v in obj)
    return obj == target


def test_cli_bad_results_file_exits_1(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", sqlite_url, "init"]) == 0
    patients = write(tmp_path, "p.csv", PATIENTS_HEADER + "p1,Ann,1980-01-01,female\n")
    assert main(["--db", sqlite_url, "import", "patients", str(patients)]) == 0
    bad = write(tmp_path, "r.csv", RESULTS_HEADER + "p1,2024-01-10,hemoglobin,11,mmol/L,,\n")
    capsys.readouterr()
    assert main(["--db", sqlite_url, "import", "results", str(bad)]) == 1
    assert "line 2: unit: 'mmol/L' is not the catalog unit" in capsys.readouterr().err
