"""CSV import of patient lists and lab results.

The whole file is validated before anything is written. If any row is bad nothing
is imported, and `CsvImportError` lists every bad row with its line number in the
file (the header is line 1), the field and the reason. Importing the same file twice
changes nothing.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casebook.catalog import Catalog, LabTest
from casebook.derive import RecordError, result_fields
from casebook.errors import CasebookError
from casebook.models import PATIENT_ID_RE, Patient, TestResult

if TYPE_CHECKING:
    from casebook.store import CaseStore, ImportSummary

__all__ = [
    "MAX_ERRORS_SHOWN",
    "PATIENT_COLUMNS",
    "RESULT_COLUMNS",
    "CsvImportError",
    "RowError",
    "import_patients_csv",
    "import_results_csv",
    "read_patients_csv",
    "read_results_csv",
    "validate_results_csv",
]

PATIENT_COLUMNS = ("patient_id", "name", "birth_date", "sex")
RESULT_COLUMNS = ("patient_id", "collected_on", "test", "value", "unit", "ref_low", "ref_high")
_SEXES = ("female", "male", "other", "unknown")
MAX_ERRORS_SHOWN = 200


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.field}: {self.reason}"


class CsvImportError(CasebookError, ValueError):
    """Every problem found in a file; nothing was imported."""

    def __init__(self, path: str, errors: list[RowError]) -> None:
        self.path, self.errors = path, errors
        shown = "\n".join(f"  {e}" for e in errors[:MAX_ERRORS_SHOWN])
        more = len(errors) - MAX_ERRORS_SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        rows = len({e.line for e in errors if e.line})
        plural = "s" if rows != 1 else ""
        what = f"{rows} bad row{plural}" if rows else "cannot be read"
        super().__init__(f"{path}: {what}, nothing was imported:\n{shown}{tail}")


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, list[str] | RowError]]:
    """(line, values in `columns` order, stripped) per non-blank row; line = file line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CsvImportError(str(path), [RowError(0, "file", "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise CsvImportError(
            str(path), [RowError(0, "file", f"not UTF-8 text ({exc.reason})")]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CsvImportError(str(path), [RowError(1, "header", "the file is empty")]) from None
    missing = [c for c in columns if c not in header]
    extra = [h for h in header if h not in columns]
    dupes = sorted({h for h in header if header.count(h) > 1})
    problems = []
    if missing:
        problems.append(RowError(1, "header", f"missing column(s): {', '.join(missing)}"))
    if extra:
        problems.append(
            RowError(
                1, "header", f"unknown column(s): {', '.join(extra)} (expected {','.join(columns)})"
            )
        )
    if dupes:
        problems.append(RowError(1, "header", f"repeated column(s): {', '.join(dupes)}"))
    if problems:
        raise CsvImportError(str(path), problems)
    order = [header.index(c) for c in columns]
    width = len(header)
    line = reader.line_num + 1
    try:
        for values in reader:
            if len(values) == width:
                nul = next((columns[k] for k, i in enumerate(order) if "\x00" in values[i]), None)
                if nul is not None:
                    yield line, RowError(line, nul, "contains a NUL byte (\\x00)")
                else:
                    yield line, [values[i].strip() for i in order]
            elif any(v.strip() for v in values):
                shape = f"has {len(values)} fields, the header has {width}"
                yield line, RowError(line, "row", shape)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise CsvImportError(
            str(path), [RowError(line, "file", f"malformed CSV ({exc})")]
        ) from None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: str, field: str, line: int, errors: list[RowError]) -> date | None:
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        parsed = date.fromisoformat(value)
    except ValueError:
        errors.append(RowError(line, field, "is not a date (use YYYY-MM-DD)"))
        return None
    if parsed > date.today():
        errors.append(RowError(line, field, "is in the future"))
        return None
    return parsed


def _patient_id(value: str, line: int, errors: list[RowError]) -> str | None:
    if not PATIENT_ID_RE.fullmatch(value):
        errors.append(
            RowError(
                line,
                "patient_id",
                "is not a valid id (1-64 letters, "
                "digits, '-' or '_', not starting with '-'; no spaces, dots, slashes or quotes)",
            )
        )
        return None
    return value


def read_patients_csv(path: str | Path) -> list[Patient]:
    """Validate a patient list; CsvImportError lists every bad row."""
    path = Path(path)
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    patients: list[Patient] = []
    for line, row in _rows(path, PATIENT_COLUMNS):
        if isinstance(row, RowError):
            errors.append(row)
            continue
        if not any(row):
            continue  # a blank line
        raw_id, name, raw_birth, raw_sex = row
        before = len(errors)
        pid = _patient_id(raw_id, line, errors)
        if pid is not None and pid in seen:
            errors.append(RowError(line, "patient_id",
                                   f"the same id is already on line {seen[pid]}"))
        if not name:
            errors.append(RowError(line, "name", "is empty"))
        elif len(name) > 200:
            errors.append(RowError(line, "name", "is longer than 200 characters"))
        birth = _date(raw_birth, "birth_date", line, errors)
        if birth is not None and birth.year < 1900:
            errors.append(RowError(line, "birth_date", "is before 1900"))
        sex = raw_sex.lower()
        if sex not in _SEXES:
            errors.append(RowError(line, "sex", f"is not one of {', '.join(_SEXES)}"))
        if len(errors) == before and pid is not None and birth is not None:
            seen[pid] = line
            patients.append(Patient(id=pid, name=name, birth_date=birth, sex=sex))
    if errors:
        raise CsvImportError(str(path), errors)
    return patients


def _number(value: str, field: str, line: int, errors: list[RowError]) -> float | None:
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        errors.append(RowError(line, field, "is not a number"))
        return None
    if not math.isfinite(number):
        errors.append(RowError(line, field, "is not a finite number"))
        return None
    return number


def _collected_on(raw: str, today: date, line: int, errors: list[RowError]) -> date | None:
    """A plain ISO date not in the future takes the fast path; anything else gets
    `_date`'s checks and message."""
    if len(raw) == 10:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            pass
        else:
            if day <= today:
                return day
    return _date(raw, "collected_on", line, errors)


def _catalog_test(catalog: Catalog, code: str) -> LabTest | None:
    try:
        return catalog.test(code)
    except KeyError:
        return None


def validate_results_csv(path: str | Path, store: CaseStore) -> list[dict[str, Any]]:
    """Check a results file against the catalog and the store's patients.

    Returns one dict of stored fields per row (patient_id, test, collected_on, value,
    value_text, unit, ref_low, ref_high, flag); CsvImportError lists every bad row."""
    path = Path(path)
    catalog = store.catalog
    errors: list[RowError] = []
    parsed = [(line, row) for line, row in _rows(path, RESULT_COLUMNS)
              if isinstance(row, RowError) or any(row)]
    ids = {row[0] for _, row in parsed if not isinstance(row, RowError)}
    patients = store.existing_patients([i for i in ids if PATIENT_ID_RE.fullmatch(i)])
    tests: dict[str, LabTest | None] = {}
    today = date.today()
    seen: dict[tuple[str, str, date], int] = {}
    rows: list[dict[str, Any]] = []
    for line, row in parsed:
        if isinstance(row, RowError):
            errors.append(row)
            continue
        pid, raw_date, code, raw_value, unit, raw_low, raw_high = row
        before = len(errors)
        patient = patients.get(pid)
        if patient is None and _patient_id(pid, line, errors) is not None:
            errors.append(RowError(line, "patient_id", "no such patient in the store "
                                   "(import the patient list first)"))
        collected = _collected_on(raw_date, today, line, errors)
        if code not in tests:
            tests[code] = _catalog_test(catalog, code)
        test = tests[code]
        if test is None:
            errors.append(RowError(line, "test", f"{code!r} is neither a catalog test key "
                                   "nor the LOINC code of one"))
        low = _number(raw_low, "ref_low", line, errors) if raw_low else None
        high = _number(raw_high, "ref_high", line, errors) if raw_high else None
        value: float | None = None
        text: str | None = None
        if test is not None and test.kind == "numeric":
            if raw_value == "":
                errors.append(RowError(line, "value", "is empty"))
            else:
                value = _number(raw_value, "value", line, errors)
        elif test is not None:
            text = raw_value
        if len(errors) > before or patient is None or collected is None or test is None:
            continue
        key = (pid, test.key, collected)
        if key in seen:
            errors.append(RowError(line, "test", f"{test.key} for the same patient and date "
                                   f"is already on line {seen[key]}"))
            continue
        seen[key] = line
        try:
            fields = result_fields(test, patient, collected_on=collected, value=value,
                                   value_text=text, unit=unit, ref_low=low, ref_high=high)
        except RecordError as exc:
            errors.append(RowError(line, exc.field, exc.reason))
            continue
        fields["patient_id"] = pid
        fields["collected_on"] = collected
        rows.append(fields)
    if errors:
        raise CsvImportError(str(path), errors)
    return rows


def read_results_csv(path: str | Path, store: CaseStore) -> list[TestResult]:
    """`validate_results_csv` as TestResult records (not yet saved)."""
    return [TestResult(**row) for row in validate_results_csv(path, store)]


def import_patients_csv(store: CaseStore, path: str | Path) -> ImportSummary:
    from casebook.store import import_patients

    return import_patients(store, read_patients_csv(path))


def import_results_csv(store: CaseStore, path: str | Path) -> ImportSummary:
    from casebook.store import import_results

    return import_results(store, validate_results_csv(path, store))
