"""The fields of a CSV row: each parser appends a `RowError` naming the line and the
field (never the value) to `errors` and returns None when the field is bad."""

from __future__ import annotations

import math
import re
from datetime import date

from casebook.catalog import Catalog, LabTest
from casebook.interop._csv_read import RowError
from casebook.models import PATIENT_ID_RE

__all__ = [
    "catalog_test",
    "check_patient_id",
    "parse_collected_on",
    "parse_date",
    "parse_inputs",
    "parse_number",
    "parse_refs",
]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: str, field: str, line: int, errors: list[RowError]) -> date | None:
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


def check_patient_id(value: str, line: int, errors: list[RowError]) -> str | None:
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


def parse_number(value: str, field: str, line: int, errors: list[RowError]) -> float | None:
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


def parse_collected_on(raw: str, today: date, line: int, errors: list[RowError]) -> date | None:
    """A plain ISO date not in the future takes the fast path; anything else gets
    `parse_date`'s checks and message (date.fromisoformat alone would also take a week
    date such as 2024-W02-3)."""
    if len(raw) == 10 and raw[4] == raw[7] == "-":
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            pass
        else:
            if day <= today:
                return day
    return parse_date(raw, "collected_on", line, errors)


def catalog_test(catalog: Catalog, code: str) -> LabTest | None:
    try:
        return catalog.test(code)
    except KeyError:
        return None


def parse_refs(
    raw_low: str, raw_high: str, line: int, errors: list[RowError]
) -> tuple[float | None, float | None]:
    """(ref_low, ref_high) as printed; None where blank."""
    low = parse_number(raw_low, "ref_low", line, errors) if raw_low else None
    high = parse_number(raw_high, "ref_high", line, errors) if raw_high else None
    return low, high


def parse_inputs(
    test: LabTest | None,
    raw_value: str,
    raw_low: str,
    raw_high: str,
    line: int,
    errors: list[RowError],
) -> tuple[float | None, str | None, float | None, float | None]:
    """(value, value_text, ref_low, ref_high) as typed in a row of `test` (None: unknown)."""
    low, high = parse_refs(raw_low, raw_high, line, errors)
    value: float | None = None
    text: str | None = None
    if test is not None and test.kind == "numeric":
        if raw_value == "":
            errors.append(RowError(line, "value", "is empty"))
        else:
            value = parse_number(raw_value, "value", line, errors)
    elif test is not None:
        text = raw_value
    return value, text, low, high
