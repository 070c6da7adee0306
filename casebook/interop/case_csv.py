"""The whole case as a folder of CSV files: `casebook export PATIENT --format csv --out DIR`
and `casebook import csv DIR`. Export then import into a fresh store gives back the same
case: every record, allergies, plan items' substances and caution confirmations included.

The files and their columns are in `casebook.interop._case_csv_shape`. Every cell goes
through the one spreadsheet-safe writer (`casebook.interop.csv_write`), and the reader
takes its `'` off again. A folder written before a file or a column existed still imports:
a missing file is no records, a missing column the field's default. A file or a column the
reader does not know is refused (it would be lost). An empty cell is None where the field
takes None (`TestResult.value_text`, `PlanItem.template`): such a field holding "" comes
back as None, the one difference a cell cannot carry.

The whole folder is checked before anything is written. A bad row raises `CsvImportError`
naming the file, the line and the field (never the value); nothing is imported.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from casebook.errors import InputError
from casebook.interop._case_csv_shape import (
    ANSWER_COLUMNS,
    ANSWERS_FILE,
    CONFIRMATION_COLUMNS,
    CONFIRMATIONS_FILE,
    PATIENT_FIELDS,
    PATIENT_FILE,
    RECORD_FILES,
    cells,
    fields_of,
    flat_dump,
    letter_pdf_name,
    record_from_cells,
)
from casebook.interop._csv_read import CsvImportError, RowError, open_table, read_rows
from casebook.interop.csv_write import frame_to_csv
from casebook.models import HISTORY_CATEGORIES, Case, CautionConfirmation, Patient

__all__ = ["case_csv_files", "read_case_csv", "write_case_csv"]

_LETTER_PDF = re.compile(r"letter-[0-9a-f]{32}\.pdf")


def _csv(columns: list[str] | tuple[str, ...], rows: list[list[Any]]) -> str:
    return frame_to_csv(pd.DataFrame(rows, columns=list(columns), dtype=object))


def case_csv_files(case: Case) -> dict[str, str | bytes]:
    """File name -> content: the CSV files of `case` and its letters' PDFs."""
    p = case.patient.model_dump(mode="json")
    files: dict[str, str | bytes] = {
        PATIENT_FILE: _csv(list(PATIENT_FIELDS), [[p[f] for f in PATIENT_FIELDS.values()]])
    }
    for spec in RECORD_FILES:
        columns = list(spec.columns())
        rows = []
        for rec in getattr(case, spec.collection):
            if spec.data is not None and not isinstance(rec.data, spec.data):
                continue
            flat = flat_dump(rec, spec.kept_apart)
            if spec.collection == "letters":
                flat["pdf"] = letter_pdf_name(rec.id)
                files[flat["pdf"]] = rec.pdf
            rows.append([flat.get(c) for c in columns])
        files[spec.name] = _csv(columns, rows)
    files[ANSWERS_FILE] = _csv(
        ANSWER_COLUMNS, [[r.id, k, v] for r in case.instruments for k, v in r.answers.items()]
    )
    files[CONFIRMATIONS_FILE] = _csv(
        CONFIRMATION_COLUMNS,
        [[i.id, *flat_dump(c).values()] for i in case.plan for c in i.caution_confirmations],
    )
    return files


def write_case_csv(case: Case, folder: str | Path) -> Path:
    """Write `case` into `folder`, which must not exist yet (or be empty): the files are
    written into a folder beside it that is then renamed, so no reader sees half a case."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"{folder}: already exists and is not an empty folder; give a new one")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except FileNotFoundError:
        raise InputError(f"{folder.parent}: no such folder") from None
    try:
        for name, body in case_csv_files(case).items():
            if isinstance(body, bytes):
                (staging / name).write_bytes(body)
            else:
                (staging / name).write_text(body, encoding="utf-8", newline="")
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def _header(path: Path) -> tuple[str, ...]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return tuple(h.strip() for h in next(csv.reader(f), []))
    except (UnicodeDecodeError, csv.Error):
        return ()  # open_table names the problem


def _rows(path: Path, known: dict[str, FieldInfo | None]) -> list[tuple[int, dict[str, str]]]:
    """(line, cells by column) of each non-blank row. The header may leave out a column
    whose field has a default (`None`: a column that must be there), never name one the
    reader does not know."""
    header = _header(path)
    table = open_table(path, header)  # an unreadable, empty or repeated header is named here
    problems = []
    unknown = [h for h in header if h not in known]
    if unknown:
        problems.append(RowError(1, "header", f"unknown column(s): {', '.join(unknown)}"))
    missing = [c for c, f in known.items() if (f is None or f.is_required()) and c not in header]
    if missing:
        problems.append(RowError(1, "header", f"missing column(s): {', '.join(missing)}"))
    if problems:
        raise CsvImportError(str(path), problems)
    rows, errors = [], []
    for line, values in read_rows(path, table, header):
        if isinstance(values, RowError):
            errors.append(values)
        elif any(values):
            rows.append((line, cells(values, list(header))))
    if errors:
        raise CsvImportError(str(path), errors)
    return rows


def _field_errors(exc: ValidationError, line: int, rename: dict[str, str]) -> list[RowError]:
    """One RowError a field: the column's name and pydantic's reason (never the input)."""
    out = []
    for err in exc.errors():
        parts = [str(p) for p in err["loc"]]
        if len(parts) > 1 and parts[0] == "data" and parts[1] in HISTORY_CATEGORIES:
            del parts[1]  # the discriminator's tag: the file already says which kind
        field = ".".join(parts)
        reason = "is missing or empty" if err["type"] == "missing" else err["msg"]
        out.append(RowError(line, rename.get(field, field) or "row", reason))
    return out


def _validated(
    model: type[BaseModel],
    data: dict[str, Any],
    line: int,
    errors: list[RowError],
    rename: dict[str, str] | None = None,
) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors.extend(_field_errors(exc, line, rename or {}))
        return None


def _check(path: Path, errors: list[RowError]) -> None:
    if errors:
        raise CsvImportError(str(path), errors)


def _patient(folder: Path) -> Patient:
    path = folder / PATIENT_FILE
    if not path.is_file():
        raise CsvImportError(str(path), [RowError(0, "file", "no such file")])
    rows = _rows(path, {c: Patient.model_fields[f] for c, f in PATIENT_FIELDS.items()})
    if len(rows) != 1:
        raise CsvImportError(str(path), [RowError(0, "rows", f"{len(rows)} patients, not one")])
    line, row = rows[0]
    errors: list[RowError] = []
    data = record_from_cells({PATIENT_FIELDS[c]: v for c, v in row.items()}, Patient.model_fields)
    back = {f: c for c, f in PATIENT_FIELDS.items()}
    patient: Patient = _validated(Patient, data, line, errors, back)
    _check(path, errors)
    return patient


class _Parts:
    """The rows kept in files of their own, by the id of the record they belong to."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.answers: dict[str, dict[str, int]] = {}
        self.confirmations: dict[str, list[CautionConfirmation]] = {}
        self.lines: dict[tuple[str, str], int] = {}  # (file, owner id) -> first line
        self._answers()
        self._confirmations()

    def _answers(self) -> None:
        path = self.folder / ANSWERS_FILE
        if not path.is_file():
            return
        errors: list[RowError] = []
        for line, row in _rows(path, dict.fromkeys(ANSWER_COLUMNS)):
            owner, item, raw = row["instrument_id"], row["item"], row["value"]
            answers = self.answers.setdefault(owner, {})
            self.lines.setdefault((ANSWERS_FILE, owner), line)
            if not item:
                errors.append(RowError(line, "item", "is empty"))
            elif item in answers:
                errors.append(RowError(line, "item", "is given twice for this instrument"))
            elif not re.fullmatch(r"-?\d{1,9}", raw):
                errors.append(RowError(line, "value", "is not a whole number"))
            else:
                answers[item] = int(raw)
        _check(path, errors)

    def _confirmations(self) -> None:
        path = self.folder / CONFIRMATIONS_FILE
        if not path.is_file():
            return
        fields: dict[str, FieldInfo | None] = {"plan_item_id": None}
        fields |= fields_of(CautionConfirmation)
        errors: list[RowError] = []
        for line, row in _rows(path, fields):
            owner = row.pop("plan_item_id")
            self.lines.setdefault((CONFIRMATIONS_FILE, owner), line)
            data = record_from_cells(row, fields_of(CautionConfirmation))
            confirmation = _validated(CautionConfirmation, data, line, errors)
            if confirmation is not None:
                self.confirmations.setdefault(owner, []).append(confirmation)
        _check(path, errors)

    def attach(self, collection: str, data: dict[str, Any]) -> None:
        rid = data.get("id", "")
        if collection == "instruments":
            data["answers"] = self.answers.pop(rid, {})
            self.lines.pop((ANSWERS_FILE, rid), None)
        elif collection == "plan":
            data["caution_confirmations"] = self.confirmations.pop(rid, [])
            self.lines.pop((CONFIRMATIONS_FILE, rid), None)

    def check_all_attached(self) -> None:
        """A row whose record is not in the case would be lost: refused."""
        if not self.lines:
            return
        (name, _), line = min(self.lines.items(), key=lambda kv: (kv[0][0], kv[1]))
        field, whose = (
            ("instrument_id", "instruments.csv")
            if name == ANSWERS_FILE
            else ("plan_item_id", "plan.csv")
        )
        raise CsvImportError(
            str(self.folder / name), [RowError(line, field, f"is not a record in {whose}")]
        )


def _letter_pdf(folder: Path, data: dict[str, Any], line: int, errors: list[RowError]) -> None:
    name = data.get("pdf") or ""
    if not _LETTER_PDF.fullmatch(name) or not (folder / name).is_file():
        errors.append(RowError(line, "pdf", "is not the name of a letter-<id>.pdf in the folder"))
        data.pop("pdf", None)
    else:
        data["pdf"] = (folder / name).read_bytes()


def _unknown_files(folder: Path) -> None:
    known = {PATIENT_FILE, ANSWERS_FILE, CONFIRMATIONS_FILE, *(f.name for f in RECORD_FILES)}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() == ".csv" and path.name not in known:
            raise CsvImportError(
                str(path), [RowError(0, "file", "is not a file of a case: it would be lost")]
            )


_AT = re.compile(r"(?:Value error, )?(\w+)\[(\d+)\]: (.*)")


def read_case_csv(folder: str | Path) -> Case:
    """The case in `folder`, checked whole: CsvImportError names the file, line and field
    of the first bad file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    _unknown_files(folder)
    patient = _patient(folder)
    parts = _Parts(folder)
    records: dict[str, list[Any]] = {spec.collection: [] for spec in RECORD_FILES}
    where: dict[str, list[tuple[Path, int]]] = {c: [] for c in records}
    for spec in RECORD_FILES:
        path = folder / spec.name
        if not path.is_file():
            continue
        fields = spec.columns()
        errors: list[RowError] = []
        for line, row in _rows(path, dict(fields)):
            data = record_from_cells(row, fields)
            parts.attach(spec.collection, data)
            if spec.collection == "letters":
                _letter_pdf(folder, data, line, errors)
            record = _validated(spec.model, data, line, errors)
            records[spec.collection].append(record)
            where[spec.collection].append((path, line))
        _check(path, errors)
    parts.check_all_attached()
    try:
        return Case(patient=patient, **records)
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"]
        found = _AT.match(msg)
        if found and found[1] in where and int(found[2]) < len(where[found[1]]):
            path, line = where[found[1]][int(found[2])]
            raise CsvImportError(str(path), [RowError(line, "row", found[3])]) from None
        raise CsvImportError(str(folder), [RowError(0, "case", msg)]) from None
