"""A results file checked a column at a time gives exactly what the row-by-row check
gives: the same rows when the file is good, and no shortcut past any problem (the
row-by-row check then names every bad line)."""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from casebook.interop import CsvImportError, RowError, import_patients_csv
from casebook.interop._csv_read import _BLANK, _SPACES, open_table, split_columns
from casebook.interop._csv_results import RESULT_COLUMNS, checked_columns, checked_rows
from casebook.interop.csv_io import validate_results_csv
from casebook.store import CaseStore

HEADER = "patient_id,collected_on,test,value,unit,ref_low,ref_high\n"
FUTURE = (date.today() + timedelta(days=3)).isoformat()
OK = "p1,2024-01-10,crp,4,mg/L,,\n"


@pytest.fixture
def lab_store(sqlite_store: CaseStore, tmp_path: Path) -> CaseStore:
    """p1 (female, born 1980) and p2 (male, born 1975)."""
    path = tmp_path / "patients.csv"
    path.write_text(
        "patient_id,name,birth_date,sex\np1,Ann,1980-01-01,female\np2,Bob,1975-05-05,male\n",
        encoding="utf-8",
    )
    import_patients_csv(sqlite_store, path)
    return sqlite_store


def _by_rows(
    store: CaseStore, path: Path
) -> tuple[list[dict[str, Any]] | None, list[RowError] | None]:
    try:
        return checked_rows(path, open_table(path, RESULT_COLUMNS), store), None
    except CsvImportError as exc:
        return None, exc.errors


def _by_columns(store: CaseStore, path: Path) -> list[dict[str, Any]] | None:
    table = open_table(path, RESULT_COLUMNS)
    columns = split_columns(table.text, table.records(), table.order, table.width)
    checked = None if columns is None else checked_columns(columns, store)
    return None if checked is None else checked.rows()


def _key(row: dict[str, Any]) -> tuple[str, str, date]:
    return row["patient_id"], row["test"], row["collected_on"]


def _exact(rows: list[dict[str, Any]]) -> list[str]:
    return [repr(sorted(row.items())) for row in sorted(rows, key=_key)]


def _agree(store: CaseStore, path: Path) -> tuple[bool, list[RowError] | None]:
    """Whether the column check took the file, and the row check's errors; asserts that
    the two agree and that the public function gives the row check's answer."""
    rows, errors = _by_rows(store, path)
    columns = _by_columns(store, path)
    if columns is not None:
        assert errors is None, "the column check let a bad file through"
        assert rows is not None
        # repr: 0.0 == -0.0 and 1 == 1.0, but they are not stored alike
        assert _exact(columns) == _exact(rows)
    if errors is None:
        assert sorted(validate_results_csv(path, store), key=_key) == sorted(rows or [], key=_key)
    else:
        with pytest.raises(CsvImportError) as caught:
            validate_results_csv(path, store)
        assert caught.value.errors == errors
    return columns is not None, errors


GOOD = {
    "plain": OK,
    "crlf": OK.replace("\n", "\r\n") + "p2,2024-01-10,crp,5,mg/L,,\r\n",
    "lone cr": OK.replace("\n", "\r") + "p2,2024-01-10,crp,5,mg/L,,\r",
    "no final newline": OK.rstrip("\n"),
    "spaces around fields": " p1 , 2024-01-10 ,crp , 4 , mg/L ,  , \n",
    "other blanks around fields": "p1\x1f,\t2024-01-10,crp\x0b,4\x0c,\u00a0mg/L,,\u2003\n",
    "blank and whitespace lines": "\n   \n" + OK + ",,,,,,\n , , , , , , \n\t\n",
    "quoted fields": '"p1","2024-01-10","crp","4","mg/L","",""\n',
    "quoted newline in a blank field": 'p1,2024-01-10,crp,4,mg/L,"\n",\n',
    "exponent": "p1,2024-01-10,ferritin,1e3,ng/mL,,\n",
    "underscore digits": "p1,2024-01-10,ferritin,1_000,ng/mL,,\n",
    "negative and signed": "p1,2024-01-10,crp,-1,mg/L,,\np1,2024-01-11,crp, +4.50 ,mg/L,,\n",
    "minus zero": "p1,2024-01-10,crp,-0,mg/L,,\np2,2024-01-10,crp,0,mg/L,-0,0\n",
    "loinc and unit alias": "p2,2024-01-10,718-7,12.5,g/dl,,\np1,2024-01-10,1988-5,12,,,\n",
    "printed ranges": "p1,2024-01-10,ferritin,10,ng/mL,5,100\np1,2024-01-11,ferritin,4,,5,\n",
    "qualitative and numeric": "p1,2024-01-10,giardia_antigen,positive,,,\n"
    "p2,2024-01-10,giardia_antigen,Not Detected,,,\n" + OK,
    "other column order": None,  # written below with its own header
    "header only": "",
}

BAD = {
    "nan": "p1,2024-01-10,crp,nan,mg/L,,\n",
    "inf": "p1,2024-01-10,crp,inf,mg/L,,\n",
    "minus infinity ref": "p1,2024-01-10,crp,1,mg/L,-Infinity,\n",
    "not a number": "p1,2024-01-10,crp,1;2,mg/L,,\n",
    "february 30": "p1,2024-02-30,crp,1,mg/L,,\n",
    "short date": "p1,2024-2-3,crp,1,mg/L,,\n",
    "week date": "p1,2024-W02-3,crp,1,mg/L,,\n",
    "basic date": "p1,20240110,crp,1,mg/L,,\n",
    "future": f"p1,{FUTURE},crp,1,mg/L,,\n",
    "before birth": "p1,1979-12-31,crp,1,mg/L,,\n",
    "blank value": "p1,2024-01-10,crp,,mg/L,,\n",
    "whitespace value": "p1,2024-01-10,crp,   ,mg/L,,\n",
    "blank qualitative value": "p1,2024-01-10,giardia_antigen,,,,\n",
    "same row twice": OK + OK,
    "same test by key and loinc": OK + "p1,2024-01-10,1988-5,5,mg/L,,\n",
    "extra field": "p1,2024-01-10,crp,4,mg/L,,,\n",
    "missing field": "p1,2024-01-10,crp,4,mg/L,\n",
    "long then short row": "p1,2024-01-10,crp,4,mg/L,,,\np2,2024-01-10,crp,5,mg/L\n",
    # 8 fields then 6: as many commas as two rows of 7, and pandas would take the first
    # field of each row as an index, leaving two good-looking rows
    "long then short row, commas even": "x,p1,2024-01-10,crp,4,mg/L,,\n"
    "x,p2,2024-01-10,crp,5,mg/L\n",
    "every row long": "x,p1,2024-01-10,crp,4,mg/L,,\nx,p2,2024-01-10,crp,5,mg/L,,\n",
    "nul byte": "p1,2024-01-10,crp,4,mg/L\x00,,\n",
    "bom after the header": "\ufeff" + OK,
    "unknown patient": "p9,2024-01-10,crp,4,mg/L,,\n",
    "bad id": "../p1,2024-01-10,crp,4,mg/L,,\n",
    "blank id": ",2024-01-10,crp,4,mg/L,,\n",
    "unknown test": "p1,2024-01-10,unicorn,4,mg/L,,\n",
    "other unit": "p1,2024-01-10,crp,4,mmol/L,,\n",
    "upside-down range": "p1,2024-01-10,crp,4,mg/L,10,5\n",
    "range not a number": "p1,2024-01-10,crp,4,mg/L,x,\n",
    "qualitative not allowed": "p1,2024-01-10,giardia_antigen,maybe,,,\n",
    "quoted newline in a test": 'p1,2024-01-10,"cr\np",4,mg/L,,\n',
    "stray quote": 'p1,2024-01-10,crp,4,mg"/L,,\n',
    "quoted comma in a unit": 'p1,2024-01-10,crp,4,"mg/L, fasting",,\n',
    "one bad among good": OK + "p2,2024-01-10,crp,x,mg/L,,\n" + "p2,2024-01-11,crp,3,mg/L,,\n",
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_a_good_file_is_taken_a_column_at_a_time(
    lab_store: CaseStore, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "r.csv"
    if GOOD[name] is None:
        path.write_text(
            "unit,value,test,collected_on,patient_id,ref_high,ref_low\n"
            "mg/L,4,crp,2024-01-10,p1,,\n",
            encoding="utf-8",
        )
    else:
        path.write_text(HEADER + GOOD[name], encoding="utf-8")
    fast, errors = _agree(lab_store, path)
    assert errors is None
    assert fast


def test_a_bom_before_the_header_is_read_as_before(lab_store: CaseStore, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(HEADER + OK, encoding="utf-8-sig")
    assert _agree(lab_store, path) == (True, None)


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_file_is_never_taken_a_column_at_a_time(
    lab_store: CaseStore, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(HEADER + BAD[name], encoding="utf-8")
    fast, errors = _agree(lab_store, path)
    assert errors
    assert not fast
    assert all(e.line >= 2 for e in errors)


def test_many_values_get_the_flags_and_ranges_of_the_row_check(
    lab_store: CaseStore, tmp_path: Path
) -> None:
    rng = random.Random(3)
    tests = [
        ("crp", "mg/L"),
        ("ferritin", "ng/mL"),
        ("hemoglobin", "g/dL"),
        ("vitamin_d", "ng/mL"),
        ("albumin", ""),
    ]
    lines = []
    for day in range(60):
        for pid in ("p1", "p2"):
            key, unit = tests[day % len(tests)]
            value = rng.choice(
                [
                    f"{rng.uniform(0, 200):.1f}",
                    str(rng.randint(0, 200)),
                    f"{rng.uniform(0, 20):.3g}",
                ]
            )
            low, high = rng.choice([("", ""), ("5", "150"), ("", "12.5"), ("3.0", "")])
            when = (date(2023, 1, 1) + timedelta(days=day)).isoformat()
            lines.append(f"{pid},{when},{key},{value},{unit},{low},{high}\n")
    path = tmp_path / "r.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    assert _agree(lab_store, path) == (True, None)
    flags = {r["flag"] for r in validate_results_csv(path, lab_store)}
    assert flags == {None, "H", "L"}


def test_the_blank_check_knows_what_strip_removes() -> None:
    """A file is left unstripped only when none of these is in it."""
    stripped = {c for c in map(chr, range(sys.maxunicode + 1)) if c.strip() == ""}
    assert {c for c in stripped if c.isascii()} - set("\r\n") == set(_SPACES)
    assert {c for c in stripped if _BLANK.fullmatch(c)} == stripped - set("\r\n")


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("quoted", [False, True])
def test_any_line_end_reads_the_same_rows_both_ways(
    lab_store: CaseStore, tmp_path: Path, end: str, quoted: bool
) -> None:
    """The file is read as written (newline=""): a line end inside a quoted cell stays
    as it was, and LF, CRLF and CR files give the same rows by columns and by rows."""
    body = HEADER + OK + "p2,2024-01-11,ferritin,40,ng/mL,,\n"
    if quoted:
        body = body.replace("p2,", '"p2",')
    path = tmp_path / "results.csv"
    path.write_bytes(body.replace("\n", end).encode())
    assert _agree(lab_store, path) == (True, None)
    assert [r["test"] for r in validate_results_csv(path, lab_store)] == ["crp", "ferritin"]
