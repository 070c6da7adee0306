"""CSV import of patient lists and lab results.

The whole file is validated before anything is written. If any row is bad nothing
is imported, and `CsvImportError` lists every bad row with its line number in the
file (the header is line 1), the field and the reason. Importing the same file twice
changes nothing.

A large results file is checked a column at a time (`casebook.interop._csv_results`),
and row by row only where that finds a problem, to name every bad line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from casebook.interop._csv_fields import check_patient_id, parse_date
from casebook.interop._csv_read import (
    MAX_ERRORS_SHOWN,
    CsvImportError,
    RowError,
    open_table,
    read_rows,
)
from casebook.interop._csv_results import RESULT_COLUMNS, validated
from casebook.interop.csv_write import frame_to_csv, unescape_cell
from casebook.models import Patient, TestResult
from casebook.store import cycle_collector_paused

if TYPE_CHECKING:
    from casebook.store import CaseStore, ImportSummary, PatientSummary

__all__ = [
    "MAX_ERRORS_SHOWN",
    "PATIENT_COLUMNS",
    "RESULT_COLUMNS",
    "CsvImportError",
    "RowError",
    "import_patients_csv",
    "import_results_csv",
    "patients_to_csv",
    "read_patients_csv",
    "read_results_csv",
    "validate_results_csv",
]

PATIENT_COLUMNS = ("patient_id", "name", "birth_date", "sex")
_SEXES = ("female", "male", "other", "unknown")


def read_patients_csv(path: str | Path) -> list[Patient]:
    """Validate a patient list; CsvImportError lists every bad row."""
    path = Path(path)
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    patients: list[Patient] = []
    for line, row in read_rows(path, open_table(path, PATIENT_COLUMNS), PATIENT_COLUMNS):
        if isinstance(row, RowError):
            errors.append(row)
            continue
        if not any(row):
            continue  # a blank line
        # every column is text: undo the writer's formula escaping (`csv_write`)
        raw_id, name, raw_birth, raw_sex = (unescape_cell(v) for v in row)
        before = len(errors)
        pid = check_patient_id(raw_id, line, errors)
        if pid is not None and pid in seen:
            errors.append(
                RowError(line, "patient_id", f"the same id is already on line {seen[pid]}")
            )
        if not name:
            errors.append(RowError(line, "name", "is empty"))
        elif len(name) > 200:
            errors.append(RowError(line, "name", "is longer than 200 characters"))
        birth = parse_date(raw_birth, "birth_date", line, errors)
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


def patients_to_csv(patients: Sequence[Patient | PatientSummary]) -> str:
    """The patient list in the columns `read_patients_csv` reads (`PATIENT_COLUMNS`), through
    the one spreadsheet-safe writer: `import patients` of it changes nothing."""
    rows = [(p.id, p.name, p.birth_date.isoformat(), p.sex) for p in patients]
    return frame_to_csv(pd.DataFrame(rows, columns=list(PATIENT_COLUMNS)))


def validate_results_csv(path: str | Path, store: CaseStore) -> list[dict[str, Any]]:
    """Check a results file against the catalog and the store's patients.

    Returns one dict of stored fields per row (patient_id, test, collected_on, value,
    value_text, unit, ref_low, ref_high, flag); CsvImportError lists every bad row."""
    return validated(Path(path), store).rows()


def read_results_csv(path: str | Path, store: CaseStore) -> list[TestResult]:
    """`validate_results_csv` as TestResult records (not yet saved)."""
    return [TestResult(**row) for row in validate_results_csv(path, store)]


def import_patients_csv(store: CaseStore, path: str | Path) -> ImportSummary:
    from casebook.store import import_patients

    return import_patients(store, read_patients_csv(path))


def import_results_csv(store: CaseStore, path: str | Path) -> ImportSummary:
    from casebook.store import import_results

    with cycle_collector_paused():
        return import_results(store, validated(Path(path), store))
