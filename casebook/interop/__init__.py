"""Getting cases in and out: CSV (patients, results, a whole case as a folder), the casebook
JSON format, FHIR R4."""

from __future__ import annotations

from casebook.interop.case_csv import read_case_csv, write_case_csv
from casebook.interop.case_json import CaseFileError, case_from_json, case_to_json
from casebook.interop.csv_io import (
    CsvImportError,
    RowError,
    import_patients_csv,
    import_results_csv,
    read_patients_csv,
    read_results_csv,
)

__all__ = [
    "CaseFileError",
    "CsvImportError",
    "RowError",
    "case_from_json",
    "case_to_json",
    "import_patients_csv",
    "import_results_csv",
    "read_case_csv",
    "read_patients_csv",
    "read_results_csv",
    "write_case_csv",
]
