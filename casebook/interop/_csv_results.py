"""Checking a results file: a column at a time (each distinct value once), or row by row
to name every bad line.

`checked_columns` applies the rules `checked_rows` applies (the same functions, from
`_csv_fields` and `casebook.clinical.derive`), each to every distinct input once, and gives up
(None) at the first problem; `validated` then runs `checked_rows` over the file, which
lists every bad row with its line, field and reason.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from casebook.catalog import Catalog, LabTest
from casebook.clinical.derive import (
    RecordError,
    check_collected_on,
    check_ref_range,
    numeric_range,
    result_fields,
    result_values,
)
from casebook.clinical.scoring import result_flag
from casebook.interop._csv_fields import (
    catalog_test,
    check_patient_id,
    parse_collected_on,
    parse_inputs,
    parse_number,
    parse_refs,
)
from casebook.interop._csv_read import (
    CsvImportError,
    RowError,
    Table,
    open_table,
    read_rows,
    split_columns,
)
from casebook.models import PATIENT_ID_RE

if TYPE_CHECKING:
    from casebook.store import CaseStore, ResultColumns

__all__ = ["RESULT_COLUMNS", "checked_columns", "checked_rows", "validated"]

RESULT_COLUMNS = ("patient_id", "collected_on", "test", "value", "unit", "ref_low", "ref_high")


def checked_rows(path: Path, table: Table, store: CaseStore) -> list[dict[str, Any]]:
    """The results row by row; CsvImportError lists every bad row with its line."""
    catalog = store.catalog
    errors: list[RowError] = []
    parsed = [
        (line, row)
        for line, row in read_rows(path, table, RESULT_COLUMNS)
        if isinstance(row, RowError) or any(row)
    ]
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
        if patient is None and check_patient_id(pid, line, errors) is not None:
            errors.append(
                RowError(
                    line,
                    "patient_id",
                    "no such patient in the store (import the patient list first)",
                )
            )
        collected = parse_collected_on(raw_date, today, line, errors)
        if code not in tests:
            tests[code] = catalog_test(catalog, code)
        test = tests[code]
        if test is None:
            errors.append(
                RowError(
                    line,
                    "test",
                    f"{code!r} is neither a catalog test key nor the LOINC code of one",
                )
            )
        value, text, low, high = parse_inputs(test, raw_value, raw_low, raw_high, line, errors)
        if len(errors) > before or patient is None or collected is None or test is None:
            continue
        key = (pid, test.key, collected)
        if key in seen:
            errors.append(
                RowError(
                    line,
                    "test",
                    f"{test.key} for the same patient and date is already on line {seen[key]}",
                )
            )
            continue
        seen[key] = line
        try:
            fields = result_fields(
                test,
                patient,
                collected_on=collected,
                value=value,
                value_text=text,
                unit=unit,
                ref_low=low,
                ref_high=high,
            )
        except RecordError as exc:
            errors.append(RowError(line, exc.field, exc.reason))
            continue
        fields["patient_id"] = pid
        fields["collected_on"] = collected
        rows.append(fields)
    if errors:
        raise CsvImportError(str(path), errors)
    return rows


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _each_once(keys: Sequence[K], decide: Callable[[K], V | None]) -> list[V] | None:
    """`decide` of every key, deciding each distinct key once; None as soon as one is."""
    decided: dict[K, V] = {}
    for key in set(keys):
        found = decide(key)
        if found is None:
            return None
        decided[key] = found
    return list(map(decided.__getitem__, keys))


_Values = tuple[float | None, str | None, str, float | None, float | None, str | None]


def _stored(
    test: LabTest, sex: str, raw_value: str, unit: str, raw_low: str, raw_high: str
) -> _Values | None:
    """What `checked_rows` stores for these inputs, or None where it finds a problem."""
    errors: list[RowError] = []
    value, text, low, high = parse_inputs(test, raw_value, raw_low, raw_high, 0, errors)
    if errors:
        return None
    try:
        return result_values(
            test, sex, value=value, value_text=text, unit=unit, ref_low=low, ref_high=high
        )
    except RecordError:
        return None


def _unit_and_range(
    test: LabTest, sex: str, unit: str, raw_low: str, raw_high: str
) -> tuple[str, float | None, float | None] | None:
    """The unit and range `checked_rows` stores a numeric result with, or None."""
    errors: list[RowError] = []
    low, high = parse_refs(raw_low, raw_high, 0, errors)
    if errors:
        return None
    try:
        check_ref_range(low, high)
        return numeric_range(test, sex, unit=unit, ref_low=low, ref_high=high)
    except RecordError:
        return None


def _values(
    tests: dict[str, LabTest],
    test: list[str],
    sex: list[str],
    raw_value: list[str],
    unit: list[str],
    raw_low: list[str],
    raw_high: list[str],
) -> list[list[Any]] | None:
    """The stored (value, value_text, unit, ref_low, ref_high, flag) columns of results of
    `test` (keys of `tests`). Numeric tests only (the usual file): each distinct number
    once, each distinct (test, sex, unit, range) once, then each row's flag; else each
    distinct row of inputs once."""
    if any(t.kind != "numeric" for t in tests.values()):
        rows = _each_once(
            list(zip(test, sex, raw_value, unit, raw_low, raw_high, strict=True)),
            lambda key: _stored(tests[key[0]], *key[1:]),
        )
        return None if rows is None else [list(map(itemgetter(k), rows)) for k in range(6)]
    values = _each_once(raw_value, lambda raw: parse_number(raw, "value", 0, []))  # "": None
    ranges = _each_once(
        list(zip(test, sex, unit, raw_low, raw_high, strict=True)),
        lambda key: _unit_and_range(tests[key[0]], *key[1:]),
    )
    if values is None or ranges is None:
        return None
    units, lows, highs = (list(map(itemgetter(k), ranges)) for k in range(3))
    return [
        values,
        [None] * len(values),
        units,
        lows,
        highs,
        list(map(result_flag, values, lows, highs)),
    ]


def _key(catalog: Catalog, code: str) -> str | None:
    test = catalog_test(catalog, code)
    return None if test is None else test.key


def checked_columns(columns: list[list[str]], store: CaseStore) -> ResultColumns | None:
    """The results checked a column at a time: each distinct patient, date, test, (patient,
    date) and value inputs once. None when anything is wrong."""
    from casebook.store import ResultColumns

    pid, raw_day, code, raw_value, unit, raw_low, raw_high = columns
    patients = store.birth_and_sex([i for i in set(pid) if PATIENT_ID_RE.fullmatch(i)])
    today = date.today()
    facts = _each_once(pid, patients.get)
    day = _each_once(raw_day, lambda raw: parse_collected_on(raw, today, 0, []))
    test = _each_once(code, lambda c: _key(store.catalog, c))
    if facts is None or day is None or test is None:
        return None
    if len(set(zip(pid, test, day, strict=True))) < len(pid):
        return None  # the same result twice
    try:
        for born, collected in set(zip(map(itemgetter(0), facts), day, strict=True)):
            check_collected_on(collected, born)
    except RecordError:
        return None
    values = _values(
        {t.key: t for t in map(store.catalog.test, set(test))},
        test,
        list(map(itemgetter(1), facts)),
        raw_value,
        unit,
        raw_low,
        raw_high,
    )
    return None if values is None else ResultColumns(pid, test, day, *values)


def validated(path: Path, store: CaseStore) -> ResultColumns:
    """The results of a file, checked: a column at a time, or row by row where that
    finds a problem (to name every bad line) or cannot read the file that way."""
    from casebook.store import ResultColumns

    table = open_table(path, RESULT_COLUMNS)
    columns = split_columns(table.text, table.records(), table.order, table.width)
    checked = None if columns is None else checked_columns(columns, store)
    if checked is not None:
        return checked
    return ResultColumns.from_rows(checked_rows(path, table, store))
